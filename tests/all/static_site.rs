//! Deploying `examples/static-site` to the `$web` container as its README says: per-path
//! headers from the example manifest, rebuilt-but-identical files not uploaded again, a
//! changed rule applied in place, and pages gone from the site deleted.

use std::path::Path;

use blobsync_tests::*;

const WEB: &str = "$web";

/// A copy of the example site (a CI build writes it afresh each time).
fn build_site(into: &Path) {
    let site = repo_root().join("examples/static-site/site");
    for rel in files(&site) {
        let data = std::fs::read(site.join(&rel)).unwrap();
        write(into, &rel, &data);
    }
}

fn deploy(site: &Path, manifest: &Path) -> Outcome {
    let az = azurite();
    blobsync_json(&[
        "sync",
        s(site),
        &az.url(WEB),
        "--plugins",
        s(manifest),
        "--compare-hash=MD5",
        "--delete-destination=true",
    ])
    .ok()
}

#[test]
fn the_example_site_deploys_to_web_with_its_headers() {
    let az = azurite();
    let blobs = Blobs::new(az);
    blobs.create_container(WEB);
    blobs.put(WEB, "old-page.html", b"<p>gone from the site</p>", &[]);
    let manifest = repo_root().join("examples/static-site/blobsync.toml");
    let site = tempfile::tempdir().unwrap();
    build_site(site.path());

    let first = deploy(site.path(), &manifest);
    assert_eq!(first.total("copied"), 8, "{}", first.dump());
    assert_eq!(first.done("upload"), files(site.path()));
    assert_eq!(first.total("deleted"), 1);
    assert_eq!(first.done("delete"), ["old-page.html"]);
    let mut names = blobs.names(WEB);
    names.sort();
    assert_eq!(names, files(site.path()));

    let header = |name: &str, key: &str| {
        blobs
            .get_headers(WEB, name)
            .get(key)
            .cloned()
            .unwrap_or_default()
    };
    for (name, cache, ctype) in [
        ("index.html", "no-cache", "text/html; charset=utf-8"),
        ("about/index.html", "no-cache", "text/html; charset=utf-8"),
        (
            "assets/app.3f2a9c1b.js",
            "max-age=31536000, immutable",
            "text/javascript; charset=utf-8",
        ),
        (
            "assets/style.5d41402a.css",
            "max-age=31536000, immutable",
            "text/css; charset=utf-8",
        ),
        (
            "fonts/inter.woff2",
            "max-age=31536000, immutable",
            "font/woff2",
        ),
        ("downloads/brochure.pdf", "max-age=86400", "application/pdf"),
        ("robots.txt", "max-age=3600", "text/plain; charset=utf-8"),
    ] {
        assert_eq!(header(name, "cache-control"), cache, "{name}");
        assert_eq!(header(name, "content-type"), ctype, "{name}");
    }
    assert_eq!(
        header("downloads/brochure.pdf", "content-disposition"),
        "attachment"
    );
    assert_eq!(header("404.html", "content-disposition"), "");
    assert_eq!(
        blobs.get(WEB, "index.html"),
        std::fs::read(site.path().join("index.html")).unwrap()
    );

    // The next build writes the same files again (new times): nothing is uploaded.
    let rebuilt = tempfile::tempdir().unwrap();
    build_site(rebuilt.path());
    set_mtime(&rebuilt.path().join("index.html"), 2_000_000_000, 0);
    let again = deploy(rebuilt.path(), &manifest);
    assert_eq!(again.total("copied"), 0, "{}", again.dump());
    assert_eq!(again.total("up_to_date"), 8);

    // A rule changes: only the blobs it covers are updated, in place.
    let changed = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("max-age=86400", "max-age=60");
    let edited = changed.path().join("blobsync.toml");
    std::fs::write(&edited, text).unwrap();
    let md5_before = header("downloads/brochure.pdf", "content-md5");
    let updated = deploy(rebuilt.path(), &edited);
    assert_eq!(updated.total("copied"), 0, "{}", updated.dump());
    assert_eq!(updated.total("updated"), 1, "{}", updated.dump());
    assert_eq!(updated.done("update"), ["downloads/brochure.pdf"]);
    assert_eq!(
        header("downloads/brochure.pdf", "cache-control"),
        "max-age=60"
    );
    assert_eq!(
        header("downloads/brochure.pdf", "content-disposition"),
        "attachment"
    );
    assert_eq!(header("downloads/brochure.pdf", "content-md5"), md5_before);
    assert_eq!(header("index.html", "cache-control"), "no-cache");
}
