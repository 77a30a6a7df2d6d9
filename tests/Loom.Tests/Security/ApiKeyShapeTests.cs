using Loom.Gateway.Auth;

namespace Loom.Tests.Security;

/// <summary>The shape the database source checks before a look-up is the shape <see cref="KeysCommand.NewKey"/> makes.</summary>
public sealed class ApiKeyShapeTests
{
    [Fact]
    public void Every_new_key_has_the_issued_shape()
    {
        // 256 random bits each: a thousand keys meet every base64url character, '-' and '_' included.
        for (var i = 0; i < 1000; i++)
        {
            var key = KeysCommand.NewKey();
            Assert.True(ApiKeyShape.IsIssued(key), key);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("not-a-key")]
    [InlineData("loom_")]
    [InlineData("LOOM_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // the prefix is lower case
    [InlineData("loom_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // 42 characters
    [InlineData("loom_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")] // 44
    [InlineData("loom_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=")] // padding
    [InlineData("loom_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+")] // base64, not base64url
    [InlineData("loom_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\u00e9")]
    public void Other_strings_do_not_have_it(string key) => Assert.False(ApiKeyShape.IsIssued(key));
}
