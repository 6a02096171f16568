test('HTML is not cached', () => {
  const files = tryPlugin();
  assert.equal(files['index.html'].annotation['cache-control'], 'no-cache');
  assert.equal(files['style.css'].annotation['cache-control'], null);
  assert.equal(files['style.css'].annotation.metadata.annotated_by, '@NAME@');
});
