//! CRC-32C (Castagnoli), masked as TFRecord files mask it, so that a checksum stored inside
//! checksummed data does not checksum to a fixed value.

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82F6_3B78;
/// TFRecord's (and LevelDB's) mask constant.
const MASK_DELTA: u32 = 0xa282_ead8;

/// One byte's worth of the CRC, for every byte value: built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// The CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |crc, &b| {
        TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8)
    })
}

/// The masked CRC-32C that TFRecord framing stores.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3720_vectors() {
        // RFC 3720 (iSCSI) section B.4, as TensorFlow's crc32c tests use them.
        assert_eq!(crc32c(&[0; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xff; 32]), 0x62a8_ab43);
        let ascending: Vec<u8> = (0..32).collect();
        assert_eq!(crc32c(&ascending), 0x46dd_794e);
        let descending: Vec<u8> = (0..32).rev().collect();
        assert_eq!(crc32c(&descending), 0x113f_db5c);
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn tensorboard_masked_vector() {
        // From TensorBoard's own data server (masked_crc.rs): a real TFRecord holding
        // Event(file_version="CRC test, one two").
        assert_eq!(masked_crc32c(b"\x1a\x11CRC test, one two"), 0x5794_d08a);
    }
}
