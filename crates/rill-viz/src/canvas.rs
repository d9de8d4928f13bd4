use crate::{Error, Result};
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use std::path::Path;
use std::sync::Once;

/// The font every picture uses, registered once as "sans-serif".
pub(crate) const FONT: &str = "sans-serif";

fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TrueType font shipped in this crate; registration can only fail
        // on malformed data, which a test of every picture would catch at once.
        let _ = register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

/// Draws into an RGB buffer of `width`×`height` with `draw`, then writes it as a PNG at `path`
/// through a temporary file and a rename.
pub(crate) fn render_png(
    path: &Path,
    what: &str,
    width: u32,
    height: u32,
    draw: impl FnOnce(
        &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    ) -> std::result::Result<(), String>,
) -> Result<()> {
    ensure_font();
    let mut buf = vec![255u8; (width * height * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        draw(&root).map_err(|message| Error::Draw {
            what: what.into(),
            message,
        })?;
        root.present().map_err(|e| Error::Draw {
            what: what.into(),
            message: format!("{e:?}"),
        })?;
    }
    let tmp = path.with_extension("png.tmp");
    let io = |e: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    write_png(&tmp, width, height, &buf).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Writes 8-bit RGB pixels (`width × height × 3`, row-major) as a PNG file.
fn write_png(path: &Path, width: u32, height: u32, rgb: &[u8]) -> std::io::Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut encoder = png::Encoder::new(file, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
    writer
        .write_image_data(rgb)
        .map_err(std::io::Error::other)?;
    writer.finish().map_err(std::io::Error::other)
}

/// Converts any drawing error to the message `render_png` reports.
pub(crate) fn d<T, E: std::fmt::Debug>(
    r: std::result::Result<T, E>,
) -> std::result::Result<T, String> {
    r.map_err(|e| format!("{e:?}"))
}

/// An RGB triple as a plotters colour.
pub(crate) fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}
