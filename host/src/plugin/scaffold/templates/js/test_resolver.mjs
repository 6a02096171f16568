test('path2 wins below content/, the flags decide elsewhere', () => {
  const files = tryPlugin('--against', join(here, 'testdata', 'path2'));
  assert.equal(files['content/page.md'].resolution.choice, 'path2');
  assert.match(files['content/page.md'].resolution.reason, /path2 owns content\//);
  assert.equal(files['notes.txt'].resolution.choice, 'policy');
  assert.equal(files['same.txt'].resolution, null);
});
