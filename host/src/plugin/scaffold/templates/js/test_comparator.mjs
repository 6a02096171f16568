test('same sizes are skipped', () => {
  const files = tryPlugin('--against', join(here, 'testdata'));
  assert.match(files['a.txt'].decision, /^skip/);
});
