//! PNG and JPEG bytes to 8-bit pixels, with the picture's size checked before its pixels are
//! allocated.

use std::io::Cursor;

/// The most pixels a picture may have (64 megapixels: 256 MiB as 8-bit RGBA). Larger ones, or
/// files that claim to be, are refused before anything that size is allocated.
pub(super) const MAX_PIXELS: usize = 1 << 26;

/// Decoded 8-bit pixels, row-major, `channels` per pixel: 1 (gray), 2 (gray + alpha),
/// 3 (RGB) or 4 (RGBA).
pub(super) struct Pixels {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub data: Vec<u8>,
}

/// Decodes a PNG (any colour type and bit depth, reduced to 8 bits) or a JPEG (as RGB).
pub(super) fn decode(bytes: &[u8]) -> Result<Pixels, String> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)
    } else if bytes.starts_with(&[0xff, 0xd8]) {
        decode_jpeg(bytes)
    } else {
        Err("neither PNG nor JPEG (unknown signature)".into())
    }
}

fn check_size(width: usize, height: usize) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err(format!("a {width}x{height} image has no pixels"));
    }
    match width.checked_mul(height) {
        Some(n) if n <= MAX_PIXELS => Ok(()),
        _ => Err(format!(
            "{width}x{height} is more than the {MAX_PIXELS} pixels an image may have"
        )),
    }
}

fn decode_png(bytes: &[u8]) -> Result<Pixels, String> {
    let limits = png::Limits {
        bytes: MAX_PIXELS * 4,
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    // Palettes and low bit depths expanded, 16-bit samples cut to 8: gray, gray + alpha, RGB
    // or RGBA, one byte per sample.
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let (width, height) = {
        let info = reader.info();
        (info.width as usize, info.height as usize)
    };
    check_size(width, height)?;
    let channels = match reader.output_color_type().0 {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err("a palette that was not expanded".into()),
    };
    let size = reader
        .output_buffer_size()
        .ok_or("the image's size overflows")?;
    let mut data = vec![0u8; size];
    let frame = reader.next_frame(&mut data).map_err(|e| e.to_string())?;
    data.truncate(frame.buffer_size());
    if data.len() != width * height * channels {
        return Err(format!(
            "{} bytes of pixels for a {width}x{height} image of {channels} channels",
            data.len()
        ));
    }
    Ok(Pixels {
        height,
        width,
        channels,
        data,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Pixels, String> {
    use zune_jpeg::zune_core::{bytestream::ZCursor, colorspace::ColorSpace, options};
    let options = options::DecoderOptions::default()
        .jpeg_set_out_colorspace(ColorSpace::RGB)
        .set_strict_mode(false);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder.decode_headers().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no image header")?;
    let (width, height) = (info.width as usize, info.height as usize);
    check_size(width, height)?;
    let data = decoder.decode().map_err(|e| e.to_string())?;
    if data.len() != width * height * 3 {
        return Err(format!(
            "{} bytes of pixels for a {width}x{height} RGB image",
            data.len()
        ));
    }
    Ok(Pixels {
        height,
        width,
        channels: 3,
        data,
    })
}

impl Pixels {
    /// The pixels as gray (one channel) or RGB (three), alpha dropped. Gray from colour uses
    /// the Rec. 709 luma weights, as the `image` crate and libpng do.
    pub fn into_channels(self, out: usize) -> Vec<u8> {
        let Pixels { channels, data, .. } = self;
        match (channels, out) {
            (1, 1) | (3, 3) => data,
            (1 | 2, 3) => data
                .chunks_exact(channels)
                .flat_map(|p| [p[0]; 3])
                .collect(),
            (2, 1) => data.chunks_exact(2).map(|p| p[0]).collect(),
            (4, 3) => data
                .chunks_exact(4)
                .flat_map(|p| [p[0], p[1], p[2]])
                .collect(),
            (_, _) => data.chunks_exact(channels).map(luma).collect(),
        }
    }
}

/// Rec. 709 luma of an RGB(A) pixel, rounded.
fn luma(p: &[u8]) -> u8 {
    let l = 2126 * p[0] as u32 + 7152 * p[1] as u32 + 722 * p[2] as u32;
    ((l + 5000) / 10000) as u8
}
