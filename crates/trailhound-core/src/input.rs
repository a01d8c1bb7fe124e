//! Input: which files to read, in which order, and how to open them (gzip sniffed by magic bytes).
//!
//! Directories are walked recursively. Inputs are ordered by the delivery time in CloudTrail's file
//! name (`<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz`) and then by path, so that a
//! multi-region, multi-account S3 tree is read roughly in event-time order whatever the directory
//! layout: the reorder window then only has to absorb CloudTrail's own delivery delays. Digest files
//! are recognised by path (`CloudTrail-Digest`) and never opened.
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

/// Where an input comes from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    /// A file.
    File(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

impl Origin {
    /// The name used in messages.
    pub fn name(&self) -> String {
        match self {
            Origin::File(p) => p.display().to_string(),
            Origin::Stdin => "-".to_owned(),
        }
    }
}

/// One input to read, or one to skip without opening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// Where it is.
    pub origin: Origin,
    /// True for a CloudTrail digest file (skipped and counted, never parsed as events).
    pub digest: bool,
}

/// Lists the inputs named by `paths` (files, directories walked recursively, `-` for stdin) in
/// reading order. Paths that cannot be listed are returned as errors to report and count.
pub fn discover(paths: &[PathBuf]) -> (Vec<Input>, Vec<(PathBuf, io::Error)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut stdin = false;
    for path in paths {
        if path.as_os_str() == "-" {
            stdin = true;
        } else {
            walk(path, &mut files, &mut errors);
        }
    }
    // Each key is built once (n, not n log n, string copies).
    files.sort_by_cached_key(|p| order_key(p));
    files.dedup();
    let mut inputs: Vec<Input> = files
        .into_iter()
        .map(|p| Input {
            digest: is_digest(&p),
            origin: Origin::File(p),
        })
        .collect();
    if stdin {
        inputs.push(Input {
            origin: Origin::Stdin,
            digest: false,
        });
    }
    (inputs, errors)
}

fn walk(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, io::Error)>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return errors.push((path.to_owned(), e)),
    };
    if !meta.is_dir() {
        return files.push(path.to_owned());
    }
    walk_dir(path, files, errors);
}

/// The files under the directory `path`. An entry's type comes from the directory listing, so a
/// plain file costs no `stat` here (an S3 export has thousands); links are followed by [`walk`].
fn walk_dir(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, io::Error)>) {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) => return errors.push((path.to_owned(), e)),
    };
    let mut children: Vec<(PathBuf, Option<std::fs::FileType>)> = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => children.push((e.path(), e.file_type().ok())),
            Err(e) => errors.push((path.to_owned(), e)),
        }
    }
    // The same parent: comparing bytes is comparing names, as `Path`'s order would (cheaper).
    children.sort_by(|a, b| {
        a.0.as_os_str()
            .as_encoded_bytes()
            .cmp(b.0.as_os_str().as_encoded_bytes())
    });
    for (child, kind) in children {
        match kind {
            Some(t) if t.is_dir() => walk_dir(&child, files, errors),
            Some(t) if t.is_file() => files.push(child),
            // A link (followed) or a type the listing did not give.
            _ => walk(&child, files, errors),
        }
    }
}

/// Sort key: CloudTrail delivery time from the file name when present (else empty, sorting first),
/// then the path's components, each ended by a zero byte (so that `a/b` sorts before `a-c`, as
/// `Path`'s own order has it, at the cost of a byte comparison).
fn order_key(path: &Path) -> (String, Vec<u8>) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut parts = Vec::with_capacity(path.as_os_str().len() + 1);
    for part in path.components() {
        parts.extend_from_slice(part.as_os_str().as_encoded_bytes());
        parts.push(0);
    }
    (delivery_stamp(name).unwrap_or_default().to_owned(), parts)
}

/// `20230710T1145Z` from `218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json`
/// (a file name or an S3 key's last part): what inputs are ordered by first.
pub fn delivery_stamp(name: &str) -> Option<&str> {
    let rest = name.split_once("_CloudTrail_")?.1;
    let stamp = rest.split('_').nth(1)?;
    (stamp.len() == 14 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z')).then_some(stamp)
}

/// True for CloudTrail digest files, recognised by CloudTrail's naming.
pub fn is_digest(path: &Path) -> bool {
    let s = path.to_string_lossy();
    s.contains("CloudTrail-Digest")
}

/// Opens an input for reading; the `bool` says whether it is gzip (sniffed from the first two
/// bytes, `1f 8b`, never from the name). Concatenated gzip members are read as one stream.
pub fn open(origin: &Origin) -> io::Result<(Box<dyn BufRead + Send>, bool)> {
    Ok(match origin {
        Origin::File(p) => buffered(File::open(p)?),
        Origin::Stdin => buffered(io::stdin()),
    })
}

/// An opened input (a file, a pipe, stdin), buffered and gzip-sniffed as [`open`] does.
pub fn buffered<R: Read + Send + 'static>(raw: R) -> (Box<dyn BufRead + Send>, bool) {
    sniff(BufReader::with_capacity(256 << 10, raw))
}

/// Wraps a reader in a gzip decoder when its first bytes are the gzip magic.
pub fn sniff<'a, R: BufRead + Send + 'a>(mut reader: R) -> (Box<dyn BufRead + Send + 'a>, bool) {
    let gzip = matches!(reader.fill_buf(), Ok(b) if b.starts_with(&[0x1f, 0x8b]));
    if gzip {
        (
            Box::new(BufReader::with_capacity(
                256 << 10,
                MultiGzDecoder::new(reader),
            )),
            true,
        )
    } else {
        (Box::new(reader), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_stamp_from_cloudtrail_names() {
        assert_eq!(
            delivery_stamp(
                "218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json"
            ),
            Some("20230710T1145Z")
        );
        assert_eq!(
            delivery_stamp(
                "342082656213_CloudTrail_us-west-1_20210729T2355Z_d8K4eSPV0RAy0jfj.json.gz"
            ),
            Some("20210729T2355Z")
        );
        assert_eq!(delivery_stamp("events.ndjson"), None);
    }

    #[test]
    fn multi_region_tree_is_read_in_delivery_order() {
        let dir = std::env::temp_dir().join(format!("trailhound-input-{}", std::process::id()));
        let a = dir.join("us-west-2/2021/07/29/1_CloudTrail_us-west-2_20210729T1000Z_a.json.gz");
        let b = dir.join("us-east-1/2021/07/29/1_CloudTrail_us-east-1_20210729T1100Z_b.json.gz");
        let c = dir.join("us-east-1/2021/07/29/1_CloudTrail_us-east-1_20210729T0900Z_c.json.gz");
        let d = dir.join(
            "CloudTrail-Digest/us-east-1/1_CloudTrail-Digest_us-east-1_x_20210729T1000Z.json.gz",
        );
        for p in [&a, &b, &c, &d] {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"{}").unwrap();
        }
        let (inputs, errors) = discover(std::slice::from_ref(&dir));
        assert!(errors.is_empty());
        let names: Vec<_> = inputs.iter().map(|i| i.origin.name()).collect();
        let pos = |p: &PathBuf| {
            names
                .iter()
                .position(|n| *n == p.display().to_string())
                .unwrap()
        };
        assert!(pos(&c) < pos(&a) && pos(&a) < pos(&b), "{names:?}");
        assert!(inputs[pos(&d)].digest);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn gzip_is_sniffed_not_named() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"a\":1}\n").unwrap();
        let bytes = gz.finish().unwrap();
        let (mut r, gzip) = sniff(io::Cursor::new(bytes));
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert!(gzip);
        assert_eq!(s, "{\"a\":1}\n");
        let (_, gzip) = sniff(io::Cursor::new(b"{}".to_vec()));
        assert!(!gzip);
    }
}
