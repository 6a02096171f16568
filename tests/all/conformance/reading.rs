//! Reading: any range of the listed version, and never another version passed off as it.

use blobsync::endpoint::{DeleteTarget, ErrorClass};
use blobsync_tests::bytes;

use super::{Fixture, T};

pub(super) fn reads_return_any_range(f: Fixture) {
    let big = bytes(9, 300_000);
    f.put("b.bin", &big, 65_536, T);
    let item = f.list(None, &[]).unwrap().files.remove(0);
    f.rt.block_on(async {
        let reader = f.endpoint.open_reader(&item).await.unwrap();
        let part = reader.read(1000, 5000).await.unwrap();
        assert_eq!(&part[..], &big[1000..6000], "ranged read");
        let all = reader.read(0, big.len()).await.unwrap();
        assert_eq!(&all[..], &big[..]);
        let last = reader.read(big.len() as u64 - 1, 1).await.unwrap();
        assert_eq!(&last[..], &big[big.len() - 1..]);
        reader.finish().await.unwrap();
    });
}

pub(super) fn a_read_of_an_entry_changed_since_it_was_listed_fails_as_changed(f: Fixture) {
    f.put("a.txt", b"first", 1 << 20, T);
    let listed = f.item("a.txt");
    f.put("a.txt", b"second, longer", 1 << 20, T + 1_000_000_000);
    let e = f
        .read_all(&listed)
        .expect_err("another version is not read");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
}

pub(super) fn a_read_of_an_entry_gone_since_it_was_listed_fails_as_changed(f: Fixture) {
    f.put("gone.txt", b"here", 1 << 20, T);
    let listed = f.item("gone.txt");
    f.rt.block_on(f.endpoint.delete(&DeleteTarget::of(&listed)))
        .unwrap();
    let e = f.read_all(&listed).expect_err("it is gone");
    assert_eq!(e.class(), ErrorClass::Changed, "{e}");
}

/// Another writer replaces the entry between two reads: the reader either fails as
/// changed, or goes on reading the listed version (a file it holds open, a snapshot) —
/// never a mix, and never the new content as if it were the listed one.
pub(super) fn a_change_while_reading_never_passes_for_the_listed_version(f: Fixture) {
    let (first, second) = (bytes(1, 300_000), bytes(2, 300_000));
    f.put("a.bin", &first, 65_536, T);
    let listed = f.item("a.bin");
    let reader = f.rt.block_on(f.endpoint.open_reader(&listed)).unwrap();
    let head = f.rt.block_on(reader.read(0, 100_000));
    f.put("a.bin", &second, 65_536, T + 1_000_000_000);
    let rest = f.rt.block_on(async {
        let tail = reader.read(100_000, 200_000).await?;
        reader.finish().await?;
        Ok(tail)
    });
    match (head, rest) {
        (Ok(head), Ok(tail)) => assert!([head, tail].concat() == first, "a mix was read"),
        (Err(e), _) | (_, Err(e)) => assert_eq!(e.class(), ErrorClass::Changed, "{e}"),
    }
}
