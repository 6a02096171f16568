    def test_path2_wins_below_content_and_the_flags_decide_elsewhere(self):
        files = run_try("--against", os.path.join(HERE, "testdata", "path2"))
        self.assertEqual(files["content/page.md"]["resolution"]["choice"], "path2")
        self.assertIn("path2 owns content/", files["content/page.md"]["resolution"]["reason"])
        self.assertEqual(files["notes.txt"]["resolution"]["choice"], "policy")
        self.assertIsNone(files["same.txt"]["resolution"])


if __name__ == "__main__":
    unittest.main()
