    def test_files_with_the_suffix_are_excluded(self):
        files = run_try()
        self.assertIsNone(files["keep.txt"]["excluded"])
        self.assertIn("ends with .tmp", files["scratch.tmp"]["excluded"])


if __name__ == "__main__":
    unittest.main()
