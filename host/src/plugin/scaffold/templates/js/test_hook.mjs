test('every upload is written', () => {
  const out = join(here, 'out', 'events.txt');
  if (existsSync(out)) rmSync(out);
  tryPlugin();
  const lines = readFileSync(out, 'utf8').trim().split('\n');
  assert.ok(lines.includes('upload a.txt 2'), lines.join('\n'));
  assert.match(lines.at(-1), /^done /);
});
