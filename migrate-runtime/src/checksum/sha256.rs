//! SHA-256 of short texts: the padding and block buffering done here, the block function
//! (with the CPU's SHA extensions when it has them) from `sha2`.
//!
//! `embed_migrations!` hashes every migration file and every lock-file entry on each build, in
//! a proc-macro that Cargo compiles without optimizations unless the user asks otherwise.
//! Unoptimized, the generic layers of the `digest` API (block buffers, generic arrays, output
//! wrappers) cost more than the compression of a short text itself; here a text costs its
//! blocks and one copy.

/// The initial hash value (FIPS 180-4, 5.3.3).
const INITIAL: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// A SHA-256 computation fed in parts.
pub(super) struct Sha256 {
    state: [u32; 8],
    /// The bytes of the block being filled.
    block: [u8; 64],
    /// How many bytes of `block` are filled (always less than 64 between calls).
    filled: usize,
    /// The length of the message so far, in bytes.
    length: u64,
}

impl Sha256 {
    pub(super) fn new() -> Sha256 {
        Sha256 {
            state: INITIAL,
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }

    /// Appends `bytes` to the message.
    pub(super) fn update(&mut self, mut bytes: &[u8]) {
        self.length += bytes.len() as u64;
        while !bytes.is_empty() {
            if self.filled == 0
                && let Some((block, rest)) = bytes.split_first_chunk::<64>()
            {
                // A whole block straight from the input.
                self.compress(block);
                bytes = rest;
                continue;
            }
            let take = (64 - self.filled).min(bytes.len());
            self.block[self.filled..self.filled + take].copy_from_slice(&bytes[..take]);
            self.filled += take;
            bytes = &bytes[take..];
            if self.filled == 64 {
                let block = self.block;
                self.compress(&block);
                self.filled = 0;
            }
        }
    }

    /// The hash of the message: a 1 bit, zeros, and the length in bits end it (FIPS 180-4,
    /// 5.1.1).
    pub(super) fn finish(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8).to_be_bytes();
        let mut last = self.block;
        last[self.filled] = 0x80;
        last[self.filled + 1..].fill(0);
        if self.filled >= 56 {
            // No room for the length: it goes in a block of its own.
            self.compress(&last);
            last = [0; 64];
        }
        last[56..].copy_from_slice(&bits);
        self.compress(&last);
        let mut out = [0; 32];
        for (bytes, word) in out.chunks_exact_mut(4).zip(self.state) {
            bytes.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// One 64-byte block into the state.
    fn compress(&mut self, block: &[u8; 64]) {
        sha2::block_api::compress256(&mut self.state, std::slice::from_ref(block));
    }
}

#[cfg(test)]
mod tests {
    use super::Sha256;
    use sha2::Digest;

    fn ours(parts: &[&[u8]]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update(part);
        }
        hasher.finish()
    }

    #[test]
    fn known_answers() {
        // FIPS 180-4 examples ("abc", the two-block message) and the empty message.
        let hex = |h: [u8; 32]| h.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(ours(&[b""])),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(ours(&[b"abc"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(ours(&[
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            ])),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
    }

    #[test]
    fn every_length_around_the_block_boundaries_matches_sha2() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for len in 0..bytes.len() {
            let text = &bytes[..len];
            let expected: [u8; 32] = sha2::Sha256::digest(text).into();
            assert_eq!(ours(&[text]), expected, "length {len}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_split_hashes_as_the_whole(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400),
            cuts in proptest::collection::vec(0usize..400, 0..4),
        ) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut parts = Vec::new();
            let mut start = 0;
            for cut in cuts {
                parts.push(&bytes[start..cut]);
                start = cut;
            }
            parts.push(&bytes[start..]);
            let expected: [u8; 32] = sha2::Sha256::digest(&bytes).into();
            proptest::prop_assert_eq!(ours(&parts), expected);
        }
    }
}
