    def test_same_sizes_are_skipped(self):
        files = run_try("--against", os.path.join(HERE, "testdata"))
        self.assertTrue(files["a.txt"]["decision"].startswith("skip"), files["a.txt"])


if __name__ == "__main__":
    unittest.main()
