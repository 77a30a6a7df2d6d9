// A line diff (longest common subsequence) for the world editor's "diff against published": canon files are
// small, so the quadratic table is fine; larger files fall back to "changed" without details.

export function lineDiff(before, after) {
  const a = before.split("\n"), b = after.split("\n");
  if (a.length * b.length > 4_000_000) return [{ op: "~", text: `(${a.length} → ${b.length} lines; too large to compare here)` }];
  const n = a.length, m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push({ op: " ", text: a[i] }); i++; j++; }
    else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) { out.push({ op: "+", text: b[j] }); j++; }
    else { out.push({ op: "-", text: a[i] }); i++; }
  }
  return out;
}

/** Only the changed lines with up to `context` unchanged lines around them, like a unified diff. */
export function hunks(lines, context = 2) {
  const keep = lines.map((l) => l.op !== " ");
  return lines.filter((_, k) => {
    for (let d = -context; d <= context; d++) if (keep[k + d]) return true;
    return false;
  });
}
