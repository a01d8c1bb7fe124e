//! The fast path for a gzip input held whole in memory (a CloudTrail log file, an S3 object):
//! libdeflate inflates it in one call into a buffer sized by the gzip trailer, about twice as fast
//! as streaming it through zlib-rs (`docs/performance-choices.md`).
//!
//! It only ever answers for an input the streaming path ([`crate::input::sniff`], flate2's
//! `MultiGzDecoder`) would read to the same bytes without an error: one gzip member that ends
//! exactly at the end of the input, whose CRC-32 and length libdeflate has checked. Anything else
//! returns `None` and the caller streams the input, which keeps everything the robust path does
//! (several members, a cut or corrupt stream with the records before the damage, a trailer that
//! lies about the size, an input larger than [`MAX_INFLATED`]).
use std::cell::RefCell;

use libdeflater::Decompressor;

/// The largest inflated size taken in one call; larger inputs are streamed.
pub const MAX_INFLATED: usize = 256 << 20;
/// The largest output buffer a thread keeps for its next input.
const MAX_KEPT: usize = 32 << 20;
/// Deflate cannot expand by more than this (a 258-byte match per 2 bits, rounded up): a trailer
/// claiming more is a lie, and is not allowed to size a buffer.
const MAX_RATIO: usize = 1032;
/// gzip's fixed header and trailer.
const HEADER: usize = 10;
const TRAILER: usize = 8;
/// Header flag: a CRC-16 of the header follows it (libdeflate skips it, flate2 checks it).
const FHCRC: u8 = 0x02;

thread_local! {
    /// This thread's inflater and output buffer, between inputs.
    static INFLATER: RefCell<Option<(Decompressor, Vec<u8>)>> = const { RefCell::new(None) };
}

/// Runs `f` on the inflated bytes of `gz` when the fast path can vouch for them (see the module
/// documentation); `None` when the input must be streamed instead.
pub(super) fn with_inflated<R>(gz: &[u8], f: impl FnOnce(&[u8]) -> R) -> Option<R> {
    if gz.len() < HEADER + TRAILER || gz[..3] != [0x1f, 0x8b, 8] || gz[3] & FHCRC != 0 {
        return None;
    }
    let trailer: [u8; TRAILER] = gz[gz.len() - TRAILER..].try_into().ok()?;
    let size = u32::from_le_bytes(trailer[4..].try_into().ok()?) as usize;
    if size > MAX_INFLATED || size > gz.len().saturating_mul(MAX_RATIO) {
        return None;
    }
    let (mut inflater, mut out) = INFLATER
        .with(|cell| cell.borrow_mut().take())
        .unwrap_or_else(|| (Decompressor::new(), Vec::new()));
    if out.len() < size {
        out.resize(size, 0);
    }
    let answer = match inflater.gzip_decompress(gz, &mut out[..size]) {
        Ok(n) if n == size && whole_input(gz, &trailer, &out[..n]) => Some(f(&out[..n])),
        _ => None,
    };
    if out.len() > MAX_KEPT {
        out = Vec::new();
    }
    INFLATER.with(|cell| *cell.borrow_mut() = Some((inflater, out)));
    answer
}

/// True when the member libdeflate read is all of `gz`: its trailer (the CRC-32 and length of
/// `out`, which libdeflate checked) is `gz`'s last 8 bytes and occurs nowhere before them. A
/// member that ends earlier (another member follows, or trailing bytes) leaves its trailer inside
/// `gz`; a false alarm (the 8 bytes occurring by chance in compressed data) only costs the
/// streaming path.
fn whole_input(gz: &[u8], trailer: &[u8; TRAILER], out: &[u8]) -> bool {
    let mut expected = [0u8; TRAILER];
    expected[..4].copy_from_slice(&libdeflater::crc32(out).to_le_bytes());
    expected[4..].copy_from_slice(&(out.len() as u32).to_le_bytes());
    expected == *trailer && memchr::memmem::find(&gz[..gz.len() - 1], &expected).is_none()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    /// What the fast path gives, or `None` when it leaves the input to the streaming path.
    fn fast(gz: &[u8]) -> Option<Vec<u8>> {
        with_inflated(gz, <[u8]>::to_vec)
    }

    /// What the streaming path reads (as `input::sniff` opens a file).
    fn streamed(gz: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let _ = flate2::bufread::MultiGzDecoder::new(gz).read_to_end(&mut out);
        out
    }

    const TEXT: &[u8] =
        br#"{"Records":[{"eventTime":"2024-03-05T11:05:12Z","eventName":"GetCallerIdentity"}]}"#;

    #[test]
    fn one_member_is_inflated_in_one_call() {
        let gz = gzip(TEXT);
        assert_eq!(fast(&gz).as_deref(), Some(TEXT));
        // An empty member's trailer is 8 zero bytes, which its last deflate byte (00) begins one
        // byte early: a false alarm, so the streaming path reads it (to nothing, as here).
        assert_eq!(fast(&gzip(b"")), None);
    }

    #[test]
    fn anything_else_is_left_to_the_streaming_path() {
        let gz = gzip(TEXT);
        let other = gzip(b"[]");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("two members", [gz.clone(), other.clone()].concat()),
            // The same member twice: its trailer is also the file's last 8 bytes.
            ("one member twice", [gz.clone(), gz.clone()].concat()),
            ("trailing garbage", [gz.clone(), b"xyz".to_vec()].concat()),
            (
                "the trailer repeated",
                [gz.clone(), gz[gz.len() - 8..].to_vec()].concat(),
            ),
            ("cut short", gz[..gz.len() - 3].to_vec()),
            ("ISIZE one too many", with_isize(&gz, TEXT.len() as u32 + 1)),
            ("ISIZE one too few", with_isize(&gz, TEXT.len() as u32 - 1)),
            ("ISIZE of 4 GiB", with_isize(&gz, u32::MAX)),
            ("bad CRC", {
                let mut g = gz.clone();
                let at = g.len() - 8;
                g[at] ^= 1;
                g
            }),
            ("header CRC flag", {
                let mut g = gz.clone();
                g[3] |= FHCRC;
                g
            }),
            ("not gzip", TEXT.to_vec()),
        ];
        for (what, input) in cases {
            assert_eq!(fast(&input), None, "{what}");
        }
        // Where the streaming path reads every member, the fast path took none of them.
        let both = streamed(&[gz.clone(), other].concat());
        assert_eq!(both, [TEXT, b"[]"].concat());
    }

    fn with_isize(gz: &[u8], size: u32) -> Vec<u8> {
        let mut g = gz.to_vec();
        let at = g.len() - 4;
        g[at..].copy_from_slice(&size.to_le_bytes());
        g
    }
}
