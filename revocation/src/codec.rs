//! Shared encoding steps: base64url without padding and capped inflation.

use std::io::{Read, Write};

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use flate2::read::{GzDecoder, ZlibDecoder};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;

use crate::{Error, Result};

/// Largest decompressed list accepted: 16 MiB, 128 times the one-bit
/// minimum and room for 16 million 8-bit statuses. Anything larger is
/// treated as a decompression bomb.
pub const MAX_DECOMPRESSED_BYTES: usize = 16 * 1024 * 1024;

/// Largest encoded text accepted before decoding anything.
const MAX_ENCODED_CHARS: usize = MAX_DECOMPRESSED_BYTES;

/// Writes without padding; reads with or without it (some peers pad).
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Clone, Copy)]
pub enum Container {
    Gzip,
    Zlib,
}

impl Container {
    fn name(self) -> &'static str {
        match self {
            Container::Gzip => "GZIP",
            Container::Zlib => "ZLIB",
        }
    }
}

pub fn compress_encode(bytes: &[u8], container: Container) -> Result<String> {
    let compressed = match container {
        Container::Gzip => {
            let mut enc = GzEncoder::new(Vec::new(), Compression::best());
            enc.write_all(bytes).map_err(io)?;
            enc.finish().map_err(io)?
        }
        Container::Zlib => {
            let mut enc = ZlibEncoder::new(Vec::new(), Compression::best());
            enc.write_all(bytes).map_err(io)?;
            enc.finish().map_err(io)?
        }
    };
    Ok(B64.encode(compressed))
}

pub fn decode_decompress(text: &str, container: Container) -> Result<Vec<u8>> {
    if text.len() > MAX_ENCODED_CHARS {
        return Err(Error::TooLarge { limit: MAX_ENCODED_CHARS });
    }
    let compressed = B64.decode(text).map_err(|_| Error::MalformedBase64)?;
    let limit = MAX_DECOMPRESSED_BYTES as u64 + 1;
    let mut out = Vec::new();
    let read = match container {
        Container::Gzip => GzDecoder::new(compressed.as_slice()).take(limit).read_to_end(&mut out),
        Container::Zlib => ZlibDecoder::new(compressed.as_slice()).take(limit).read_to_end(&mut out),
    };
    read.map_err(|_| Error::MalformedCompression(container.name()))?;
    if out.len() > MAX_DECOMPRESSED_BYTES {
        return Err(Error::TooLarge { limit: MAX_DECOMPRESSED_BYTES });
    }
    Ok(out)
}

fn io(e: std::io::Error) -> Error {
    Error::Compression(e.to_string())
}
