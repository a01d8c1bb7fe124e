//! Deterministic randomness and the identifier formats AWS uses.
//!
//! One seeded ChaCha8 stream drives the whole simulation, so one seed gives byte-identical output
//! (ChaCha8 is portable and its output is fixed across platforms and `rand_chacha` 0.10 releases).
//! Identifiers are written into fixed-size stack buffers: no allocation on the hot path.
//!
//! Access key ids and unique ids encode the account like AWS's do: after the four-letter prefix, the
//! base32 text of ten bytes whose first six hold `(account << 7) | 7 random bits`, so keys of one account
//! share their first eight characters (`ASIATFQR7NSC…`, `AKIATFQR7NSC…`), as in real logs.
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HEX: &[u8; 16] = b"0123456789abcdef";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A short identifier held on the stack (uuids, request ids, access keys).
#[derive(Clone, Copy)]
pub(crate) struct Id<const N: usize>([u8; N]);

impl<const N: usize> Id<N> {
    /// The identifier as text (always ASCII).
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// A lower-case version-4 UUID, as CloudTrail writes `eventID` and most `requestID`s.
pub(crate) type Uuid = Id<36>;

/// The simulator's random source.
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A uniform `u64`.
    pub(crate) fn u64(&mut self) -> u64 {
        self.0.random()
    }

    /// A uniform integer in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.random_range(0..n)
        }
    }

    /// A uniform index into a collection of `len` items.
    pub(crate) fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A uniform integer in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..=hi)
        }
    }

    /// A uniform float in `[0, 1)`.
    pub(crate) fn f64(&mut self) -> f64 {
        self.0.random()
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// An exponentially distributed wait with the given mean (Poisson arrivals).
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }

    /// One item of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// An index chosen with the given integer weights (the last index if all are zero).
    pub(crate) fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        weights.len().saturating_sub(1)
    }

    /// A version-4 UUID.
    pub(crate) fn uuid(&mut self) -> Uuid {
        let mut bits = (u128::from(self.u64()) << 64) | u128::from(self.u64());
        let mut out = [b'-'; 36];
        for (pos, slot) in out.iter_mut().enumerate() {
            if matches!(pos, 8 | 13 | 18 | 23) {
                continue;
            }
            let n = (bits & 15) as usize;
            bits >>= 4;
            *slot = match pos {
                14 => b'4',
                19 => HEX[8 | (n & 3)],
                _ => HEX[n],
            };
        }
        Id(out)
    }

    fn fill<const N: usize>(&mut self, alphabet: &[u8]) -> Id<N> {
        let mut out = [0u8; N];
        if alphabet.len().is_power_of_two() {
            // 16, 32 and 64-letter alphabets: take the bits of one u64 at a time.
            let bits = alphabet.len().trailing_zeros();
            let mask = alphabet.len() as u64 - 1;
            let per_word = 64 / bits;
            let mut word = 0u64;
            for (i, slot) in out.iter_mut().enumerate() {
                if (i as u32).is_multiple_of(per_word) {
                    word = self.u64();
                }
                *slot = alphabet[(word & mask) as usize];
                word >>= bits;
            }
        } else {
            for slot in out.iter_mut() {
                *slot = alphabet[self.index(alphabet.len())];
            }
        }
        Id(out)
    }

    /// `N` lower-case hex digits (instance ids, ENI ids, …).
    pub(crate) fn hex<const N: usize>(&mut self) -> Id<N> {
        self.fill(HEX)
    }

    /// `N` mixed-case letters and digits (the random part of a log file name).
    pub(crate) fn alnum<const N: usize>(&mut self) -> Id<N> {
        self.fill(ALNUM)
    }

    /// `N` upper-case letters and digits (S3 request ids such as `0KB7YBPCHY6RKNF4`).
    pub(crate) fn upper<const N: usize>(&mut self) -> Id<N> {
        self.fill(UPPER_ALNUM)
    }

    /// `N` base64 characters (session tokens, `x-amz-id-2`).
    pub(crate) fn b64<const N: usize>(&mut self) -> Id<N> {
        self.fill(B64)
    }

    /// A 20-character AWS identifier: `prefix` (`ASIA`, `AKIA`) and the base32 encoding of the account.
    pub(crate) fn aws_key(&mut self, prefix: &str, account: u64) -> Id<20> {
        let mut bytes = [0u8; 10];
        let value = ((account & 0xff_ffff_ffff) << 7) | (self.u64() & 0x7f);
        bytes[..6].copy_from_slice(&value.to_be_bytes()[2..]);
        bytes[6..].copy_from_slice(&self.u64().to_be_bytes()[..4]);
        let mut out = [b'A'; 20];
        out[..4].copy_from_slice(&prefix.as_bytes()[..4]);
        let mut acc: u128 = 0;
        for b in bytes {
            acc = (acc << 8) | u128::from(b);
        }
        for i in 0..16 {
            out[4 + i] = B32[((acc >> (75 - 5 * i)) & 31) as usize];
        }
        Id(out)
    }

    /// A 21-character unique id (`AIDA…` users, `AROA…` roles, `AIPA…` instance profiles).
    pub(crate) fn unique_id(&mut self, prefix: &str, account: u64) -> Id<21> {
        let key = self.aws_key(prefix, account);
        let tail: Id<5> = self.fill(B32);
        let mut out = [0u8; 21];
        out[..16].copy_from_slice(&key.0[..16]);
        out[16..].copy_from_slice(&tail.0);
        Id(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account_of(key: &str) -> u64 {
        let mut acc: u128 = 0;
        for c in key[4..].bytes() {
            let v = B32.iter().position(|b| *b == c).unwrap_or(0) as u128;
            acc = (acc << 5) | v;
        }
        let first6 = (acc >> 32) as u64;
        (first6 & 0x7fff_ffff_ff80) >> 7
    }

    #[test]
    fn access_keys_decode_to_their_account() {
        let mut rng = Rng::new(7);
        for account in [218007301253u64, 123456789012, 999999999999] {
            let k = rng.aws_key("ASIA", account);
            assert_eq!(k.as_str().len(), 20);
            assert!(k.as_str().starts_with("ASIA"));
            assert_eq!(account_of(k.as_str()), account, "{}", k.as_str());
        }
        // The real key from the invictus dataset decodes to the account in its file names.
        assert_eq!(account_of("ASIATFQR7NSC36DZQP7P"), 218007301253);
    }

    #[test]
    fn uuids_are_version_4_and_deterministic() {
        let a = Rng::new(1).uuid();
        let b = Rng::new(1).uuid();
        assert_eq!(a.as_str(), b.as_str());
        let s = a.as_str();
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(
            s.split('-').map(str::len).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
    }

    #[test]
    fn weighted_respects_zero_weights() {
        let mut rng = Rng::new(3);
        for _ in 0..1000 {
            assert_ne!(rng.weighted(&[1, 0, 5]), 1);
        }
    }
}
