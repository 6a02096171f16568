    def test_html_is_not_cached(self):
        files = run_try()
        self.assertEqual(files["index.html"]["annotation"]["cache-control"], "no-cache")
        self.assertIsNone(files["style.css"]["annotation"]["cache-control"])
        self.assertEqual(files["style.css"]["annotation"]["metadata"]["annotated_by"], "@NAME@")


if __name__ == "__main__":
    unittest.main()
