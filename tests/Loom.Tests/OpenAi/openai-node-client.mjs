// Drives LOOM with the official `openai` npm package, as a Node front end would. Prints one JSON line of results.
// Usage: node openai-node-client.mjs <baseUrl> <apiKey> <sessionName>
import OpenAI from "openai";

const [baseUrl, apiKey, user] = process.argv.slice(2);
const client = new OpenAI({ baseURL: new URL("/v1", baseUrl).toString(), apiKey, maxRetries: 0 });
const model = "loom/ember-vale";
const result = {};

result.models = (await client.models.list()).data.map((m) => m.id);

const messages = [{ role: "user", content: "I follow the river towards the mill." }];
const first = await client.chat.completions.create({ model, user, messages });
result.first = { text: first.choices[0].message.content, finish: first.choices[0].finish_reason, usage: first.usage };

// The whole conversation again, plus one new message, streamed with usage.
messages.push({ role: "assistant", content: first.choices[0].message.content }, { role: "user", content: "I cross the bridge." });
let streamed = "";
let usage = null;
let finish = null;
const stream = await client.chat.completions.create({ model, user, messages, stream: true, stream_options: { include_usage: true } });
for await (const chunk of stream) {
  if (chunk.usage) usage = chunk.usage;
  for (const choice of chunk.choices) {
    streamed += choice.delta?.content ?? "";
    finish = choice.finish_reason ?? finish;
  }
}
result.second = { text: streamed, finish, usage };

// A regenerate: the same conversation once more.
const again = await client.chat.completions.create({ model, user, messages });
result.regenerated = again.choices[0].message.content;

try {
  await client.chat.completions.create({ model: "loom/no-such-world", user: user + "-other", messages });
  result.error = null;
} catch (e) {
  result.error = { status: e.status, code: e.code, type: e.type, message: e.message };
}

console.log(JSON.stringify(result));
