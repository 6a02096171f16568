//! The CRC-64 Blob Storage checks on uploads (CRC-64/NVME), also used to check the blocks
//! of a resumed download.

/// The CRC-64 of `data`, little-endian, as the `x-ms-content-crc64` header carries it.
pub(crate) fn crc64(data: &[u8]) -> [u8; 8] {
    let mut c = crc64fast_nvme::Digest::new();
    c.write(data);
    c.sum64().to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    #[test]
    fn crc64_is_the_variant_the_service_checks() {
        // The service's answer for "Hello World!" (a recorded Crc64Mismatch response).
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(crc64(b"Hello World!")),
            "peH8Xsgc5QI="
        );
    }
}
