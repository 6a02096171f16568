    def test_every_upload_is_written(self):
        out = os.path.join(HERE, "out", "events.txt")
        if os.path.exists(out):
            os.remove(out)
        run_try()
        with open(out) as f:
            lines = f.read().splitlines()
        self.assertIn("upload a.txt 2", lines)
        self.assertTrue(lines[-1].startswith("done "), lines)


if __name__ == "__main__":
    unittest.main()
