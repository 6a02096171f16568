test('files with the suffix are excluded', () => {
  const files = tryPlugin();
  assert.equal(files['keep.txt'].excluded, null);
  assert.match(files['scratch.tmp'].excluded, /ends with \.tmp/);
});
