//! QR rendering: the module matrix (for native UIs), terminal text, SVG and (feature `qr-image`)
//! PNG, with the version and error-correction level reported. The text is all in the QR
//! alphanumeric alphabet, so the encoder picks alphanumeric mode (5.5 bits a character).

use super::error::PresentError;
use qrcode::{Color, EcLevel, QrCode, Version};

/// Modules of quiet zone around the symbol (ISO/IEC 18004 asks for 4).
pub const QUIET_ZONE: usize = 4;

/// A QR symbol.
#[derive(Clone, PartialEq, Eq)]
pub struct QrImage {
    /// The text it encodes.
    pub text: String,
    /// 1..=40.
    pub version: u8,
    /// "L", "M", "Q" or "H".
    pub ecc: &'static str,
    /// Modules per side, without quiet zone.
    pub width: usize,
    /// Row-major, `true` = dark.
    pub modules: Vec<bool>,
}

impl std::fmt::Debug for QrImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrImage")
            .field("version", &self.version)
            .field("ecc", &self.ecc)
            .finish_non_exhaustive()
    }
}

impl QrImage {
    /// Encodes `text` at ECC level M (15 % of the symbol may be damaged: cracked screens).
    pub fn encode(text: &str) -> Result<QrImage, PresentError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|_| PresentError::Qr("too long for a QR code"))?;
        let version = match code.version() {
            Version::Normal(v) => u8::try_from(v).map_err(|_| PresentError::Qr("version"))?,
            Version::Micro(_) => return Err(PresentError::Qr("micro QR")),
        };
        Ok(QrImage {
            text: text.to_owned(),
            version,
            ecc: "M",
            width: code.width(),
            modules: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Whether the module at (x, y) is dark; outside the symbol (quiet zone) is light.
    pub fn dark(&self, x: isize, y: isize) -> bool {
        let w = self.width as isize;
        if x < 0 || y < 0 || x >= w || y >= w {
            return false;
        }
        self.modules
            .get((y * w + x) as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Two rows per line with half blocks, dark modules drawn dark (for dark-on-light
    /// terminals the colours are inverted by drawing light modules as blocks).
    pub fn to_terminal(&self) -> String {
        let q = QUIET_ZONE as isize;
        let w = self.width as isize;
        let mut out = String::new();
        let mut y = -q;
        while y < w + q {
            for x in -q..w + q {
                // Light modules are drawn (terminals are usually light text on dark).
                let (top, bottom) = (!self.dark(x, y), !self.dark(x, y + 1));
                out.push(match (top, bottom) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
            y += 2;
        }
        out
    }

    /// An SVG with one path of unit squares, `scale` pixels a module.
    pub fn to_svg(&self, scale: usize) -> String {
        let size = (self.width + 2 * QUIET_ZONE) * scale;
        let mut path = String::new();
        for y in 0..self.width {
            for x in 0..self.width {
                if self.dark(x as isize, y as isize) {
                    path.push_str(&format!("M{} {}h1v1h-1z", x + QUIET_ZONE, y + QUIET_ZONE));
                }
            }
        }
        let side = self.width + 2 * QUIET_ZONE;
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
             viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\">\
             <rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>\n"
        )
    }

    /// Greyscale pixels, `scale` a module, with the quiet zone: (side, pixels); for the PNG.
    #[cfg(feature = "qr-image")]
    fn to_pixels(&self, scale: usize) -> (usize, Vec<u8>) {
        let side = (self.width + 2 * QUIET_ZONE) * scale;
        let mut px = vec![255u8; side * side];
        for (i, p) in px.iter_mut().enumerate() {
            let (x, y) = (i % side / scale, i / side / scale);
            if self.dark(
                x as isize - QUIET_ZONE as isize,
                y as isize - QUIET_ZONE as isize,
            ) {
                *p = 0;
            }
        }
        (side, px)
    }

    /// An 8-bit greyscale PNG, `scale` pixels a module.
    #[cfg(feature = "qr-image")]
    pub fn to_png(&self, scale: usize) -> Result<Vec<u8>, PresentError> {
        let (side, px) = self.to_pixels(scale);
        let side = u32::try_from(side).map_err(|_| PresentError::Qr("image size"))?;
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side, side);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut w = enc
                .write_header()
                .map_err(|_| PresentError::Qr("PNG encoding"))?;
            w.write_image_data(&px)
                .map_err(|_| PresentError::Qr("PNG encoding"))?;
        }
        Ok(out)
    }
}

/// The text of the first QR code found in a PNG image (any colour type, 8 or 16 bits).
#[cfg(feature = "qr-image")]
pub fn decode_png(png_bytes: &[u8]) -> Result<String, PresentError> {
    const MAX_PIXELS: u64 = 40_000_000;
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder
        .read_info()
        .map_err(|_| PresentError::Qr("not a PNG image"))?;
    let info = reader.info();
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return Err(PresentError::Qr("image too large"));
    }
    let mut buf = vec![
        0;
        reader
            .output_buffer_size()
            .ok_or(PresentError::Qr("image size"))?
    ];
    let frame = reader
        .next_frame(&mut buf)
        .map_err(|_| PresentError::Qr("PNG decoding"))?;
    let channels = frame.color_type.samples();
    let (w, h) = (frame.width as usize, frame.height as usize);
    let luma = |x: usize, y: usize| -> u8 {
        let i = (y * w + x) * channels;
        match channels {
            1 | 2 => buf.get(i).copied().unwrap_or(255),
            _ => {
                let c = |k| u16::from(buf.get(i + k).copied().unwrap_or(255));
                ((c(0) * 3 + c(1) * 6 + c(2)) / 10) as u8
            }
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = img.detect_grids();
    let grid = grids
        .first()
        .ok_or(PresentError::Qr("no QR code in the image"))?;
    let (_, text) = grid
        .decode()
        .map_err(|_| PresentError::Qr("the QR code does not decode"))?;
    Ok(text)
}
