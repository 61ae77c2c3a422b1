//! The optional low-resolution video: frames, the VP8 payload of RTP, the codec and the camera.
//!
//! palabre is audio-only by default. When the user turns that off in a Jitsi Meet call, the
//! bridge is asked for others' cameras at [`MAX_HEIGHT`] at most; each arriving VP8 stream is
//! put back together from its RTP packets ([`vp8::Depacketizer`]), decoded ([`codec::Decoder`])
//! and shown scaled down as an RGBA tile ([`Rgba::from_i420`]). With the camera on, frames from
//! the camera ([`camera`]) or a test pattern ([`TestPattern`]) are encoded at
//! [`SEND_WIDTH`]×[`SEND_HEIGHT`] and [`SEND_BITRATE_KBPS`] and cut into RTP payloads
//! ([`vp8::packetize`]).
//!
//! Everything here but [`codec`] and [`camera`] is plain Rust with no I/O. The codec wraps the
//! system's libvpx (the only `unsafe` code in palabre, behind the `video` feature); without that
//! feature [`codec::Decoder::new`] and [`codec::Encoder::new`] refuse with a sentence.

pub mod camera;
pub mod codec;
pub mod pipeline;
pub mod vp8;

/// The tallest video palabre asks the bridge for, and the most it sends (the project's ≤ 360p).
pub const MAX_HEIGHT: u32 = 360;
/// The width of the video palabre sends.
pub const SEND_WIDTH: u32 = 640;
/// The height of the video palabre sends.
pub const SEND_HEIGHT: u32 = 360;
/// Frames a second palabre sends.
pub const SEND_FPS: u32 = 15;
/// The bit rate palabre's encoder aims at, kbit/s.
pub const SEND_BITRATE_KBPS: u32 = 300;
/// The largest frame palabre decodes or shows (a hostile stream may announce anything).
pub const MAX_FRAME_WIDTH: u32 = 1920;
/// See [`MAX_FRAME_WIDTH`].
pub const MAX_FRAME_HEIGHT: u32 = 1080;
/// The width of a tile in the window, at most (frames are scaled down to fit it).
pub const TILE_WIDTH: u32 = 320;

/// A picture in I420 (planar 4:2:0 YUV, BT.601 limited range), the codec's own layout.
#[derive(Clone, PartialEq, Eq)]
pub struct I420 {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Luma, `width × height`.
    pub y: Vec<u8>,
    /// Blue difference, `width/2 × height/2`.
    pub u: Vec<u8>,
    /// Red difference, `width/2 × height/2`.
    pub v: Vec<u8>,
}

impl std::fmt::Debug for I420 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "I420({}×{})", self.width, self.height)
    }
}

impl I420 {
    /// Whether the sizes are even (at least 2×2) and each plane holds exactly what they say.
    pub fn is_valid(&self) -> bool {
        let (w, h) = (self.width as usize, self.height as usize);
        let chroma = (w / 2) * (h / 2);
        w >= 2
            && h >= 2
            && w.is_multiple_of(2)
            && h.is_multiple_of(2)
            && self.y.len() == w * h
            && self.u.len() == chroma
            && self.v.len() == chroma
    }

    /// A black picture (sizes rounded down to even, at least 2×2).
    pub fn black(width: u32, height: u32) -> I420 {
        let width = (width & !1).max(2);
        let height = (height & !1).max(2);
        let chroma = (width / 2 * height / 2) as usize;
        I420 {
            width,
            height,
            y: vec![16; (width * height) as usize],
            u: vec![128; chroma],
            v: vec![128; chroma],
        }
    }

    /// From packed YUYV (4:2:2, what most webcams give uncompressed). `None` when `data` is too
    /// short for the size.
    pub fn from_yuyv(width: u32, height: u32, data: &[u8]) -> Option<I420> {
        let (w, h) = packed_size(width, height, 2, data)?;
        let mut out = I420::black(w as u32, h as u32);
        let stride = width as usize * 2;
        for row in 0..h {
            let line = &data[row * stride..row * stride + w * 2];
            for (x, pair) in line.chunks_exact(4).enumerate() {
                out.y[row * w + 2 * x] = pair[0];
                out.y[row * w + 2 * x + 1] = pair[2];
                if row % 2 == 0 {
                    let below = &data[(row + 1) * stride + x * 4..(row + 1) * stride + x * 4 + 4];
                    let c = (row / 2) * (w / 2) + x;
                    out.u[c] = ((u16::from(pair[1]) + u16::from(below[1])) / 2) as u8;
                    out.v[c] = ((u16::from(pair[3]) + u16::from(below[3])) / 2) as u8;
                }
            }
        }
        Some(out)
    }

    /// From NV12 (a luma plane, then interleaved U and V at half size). `None` when `data` is
    /// too short for the size.
    pub fn from_nv12(width: u32, height: u32, data: &[u8]) -> Option<I420> {
        let (w, h) = ((width & !1) as usize, (height & !1) as usize);
        let (fw, fh) = (width as usize, height as usize);
        if w == 0 || h == 0 || data.len() < fw * fh + fw * fh.div_ceil(2) {
            return None;
        }
        let mut out = I420::black(w as u32, h as u32);
        for row in 0..h {
            out.y[row * w..row * w + w].copy_from_slice(&data[row * fw..row * fw + w]);
        }
        let chroma = &data[fw * fh..];
        for row in 0..h / 2 {
            for x in 0..w / 2 {
                out.u[row * (w / 2) + x] = chroma[row * fw + 2 * x];
                out.v[row * (w / 2) + x] = chroma[row * fw + 2 * x + 1];
            }
        }
        Some(out)
    }

    /// From packed RGB (3 bytes a pixel). `None` when `data` is too short for the size.
    pub fn from_rgb(width: u32, height: u32, data: &[u8]) -> Option<I420> {
        let (w, h) = packed_size(width, height, 3, data)?;
        let mut out = I420::black(w as u32, h as u32);
        let stride = width as usize * 3;
        let luma = |p: &[u8]| -> u8 {
            ((66 * i32::from(p[0]) + 129 * i32::from(p[1]) + 25 * i32::from(p[2]) + 128) >> 8)
                .wrapping_add(16)
                .clamp(0, 255) as u8
        };
        for row in 0..h {
            for x in 0..w {
                let p = &data[row * stride + x * 3..row * stride + x * 3 + 3];
                out.y[row * w + x] = luma(p);
                if row % 2 == 0 && x % 2 == 0 {
                    let (r, g, b) = (i32::from(p[0]), i32::from(p[1]), i32::from(p[2]));
                    let c = (row / 2) * (w / 2) + x / 2;
                    out.u[c] =
                        (((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
                    out.v[c] = (((112 * r - 94 * g - 18 * b + 128) >> 8) + 128).clamp(0, 255) as u8;
                }
            }
        }
        Some(out)
    }

    /// Scaled (nearest pixel) to fit within `max_width`×`max_height`, keeping the aspect; the
    /// picture itself when it already fits.
    pub fn fit(&self, max_width: u32, max_height: u32) -> I420 {
        if self.width <= max_width && self.height <= max_height {
            return self.clone();
        }
        let scale = f64::min(
            f64::from(max_width) / f64::from(self.width),
            f64::from(max_height) / f64::from(self.height),
        );
        let width = ((f64::from(self.width) * scale) as u32 & !1).max(2);
        let height = ((f64::from(self.height) * scale) as u32 & !1).max(2);
        let mut out = I420::black(width, height);
        let (sw, sh) = (self.width as usize, self.height as usize);
        let (dw, dh) = (width as usize, height as usize);
        for row in 0..dh {
            let sy = row * sh / dh;
            for x in 0..dw {
                out.y[row * dw + x] = self.y[sy * sw + x * sw / dw];
            }
        }
        for row in 0..dh / 2 {
            let sy = row * (sh / 2) / (dh / 2);
            for x in 0..dw / 2 {
                let sx = x * (sw / 2) / (dw / 2);
                out.u[row * (dw / 2) + x] = self.u[sy * (sw / 2) + sx];
                out.v[row * (dw / 2) + x] = self.v[sy * (sw / 2) + sx];
            }
        }
        out
    }
}

/// The even size of a packed picture of `bytes` bytes a pixel, when `data` holds it all.
fn packed_size(width: u32, height: u32, bytes: usize, data: &[u8]) -> Option<(usize, usize)> {
    let (w, h) = ((width & !1) as usize, (height & !1) as usize);
    let whole = (width as usize)
        .checked_mul(height as usize)?
        .checked_mul(bytes)?;
    (w > 0 && h > 0 && data.len() >= whole).then_some((w, h))
}

/// A picture ready for the window: RGBA, 4 bytes a pixel, unpremultiplied, opaque.
#[derive(Clone, PartialEq, Eq)]
pub struct Rgba {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 4` bytes.
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for Rgba {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rgba({}×{})", self.width, self.height)
    }
}

impl Rgba {
    /// Converts (BT.601 limited range), scaled down to at most `max_width` wide.
    pub fn from_i420(picture: &I420, max_width: u32) -> Rgba {
        let fitted;
        let picture = if picture.width > max_width {
            fitted = picture.fit(max_width, MAX_FRAME_HEIGHT);
            &fitted
        } else {
            picture
        };
        let (w, h) = (picture.width as usize, picture.height as usize);
        let mut pixels = Vec::with_capacity(w * h * 4);
        for row in 0..h {
            for x in 0..w {
                let y = i32::from(picture.y[row * w + x]) - 16;
                let c = (row / 2) * (w / 2) + x / 2;
                let u = i32::from(picture.u[c]) - 128;
                let v = i32::from(picture.v[c]) - 128;
                let r = (298 * y + 409 * v + 128) >> 8;
                let g = (298 * y - 100 * u - 208 * v + 128) >> 8;
                let b = (298 * y + 516 * u + 128) >> 8;
                pixels.extend_from_slice(&[
                    r.clamp(0, 255) as u8,
                    g.clamp(0, 255) as u8,
                    b.clamp(0, 255) as u8,
                    255,
                ]);
            }
        }
        Rgba {
            width: picture.width,
            height: picture.height,
            pixels,
        }
    }
}

/// A moving test picture, for `--camera test-pattern` and for machines without a camera: eight
/// colour bars with a white block crossing them, one step a frame.
#[derive(Debug)]
pub struct TestPattern {
    width: u32,
    height: u32,
    frame: u32,
}

impl TestPattern {
    /// A pattern of this size (rounded down to even).
    pub fn new(width: u32, height: u32) -> TestPattern {
        TestPattern {
            width: (width & !1).max(16),
            height: (height & !1).max(16),
            frame: 0,
        }
    }

    /// The next picture.
    pub fn next_frame(&mut self) -> I420 {
        const BARS: [[u8; 3]; 8] = [
            [235, 128, 128],
            [210, 16, 146],
            [170, 166, 16],
            [145, 54, 34],
            [106, 202, 222],
            [81, 90, 240],
            [41, 240, 110],
            [16, 128, 128],
        ];
        let mut out = I420::black(self.width, self.height);
        let (w, h) = (self.width as usize, self.height as usize);
        let block = w / 8;
        let block_x = (self.frame as usize * 4) % (w - block);
        for row in 0..h {
            for x in 0..w {
                let bar = BARS[x * 8 / w];
                let in_block =
                    x >= block_x && x < block_x + block && row >= h / 3 && row < h * 2 / 3;
                out.y[row * w + x] = if in_block { 235 } else { bar[0] };
                if row % 2 == 0 && x % 2 == 0 {
                    let c = (row / 2) * (w / 2) + x / 2;
                    out.u[c] = if in_block { 128 } else { bar[1] };
                    out.v[c] = if in_block { 128 } else { bar[2] };
                }
            }
        }
        self.frame = self.frame.wrapping_add(1);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_is_black_in_rgba() {
        let rgba = Rgba::from_i420(&I420::black(4, 2), 320);
        assert_eq!((rgba.width, rgba.height), (4, 2));
        assert!(rgba.pixels.chunks(4).all(|p| p == [0, 0, 0, 255]));
    }

    #[test]
    fn colours_survive_the_round_trip() {
        // Red, green, blue, white, each 2×2.
        let mut rgb = Vec::new();
        for _row in 0..2 {
            for colour in [[255u8, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]] {
                rgb.extend_from_slice(&colour);
                rgb.extend_from_slice(&colour);
            }
        }
        let picture = I420::from_rgb(8, 2, &rgb).expect("size");
        let back = Rgba::from_i420(&picture, 320);
        for (index, want) in [[255u8, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]
            .iter()
            .enumerate()
        {
            let got = &back.pixels[index * 8..index * 8 + 3];
            for (g, w) in got.iter().zip(want) {
                assert!(
                    (i32::from(*g) - i32::from(*w)).abs() <= 6,
                    "{got:?} for {want:?}"
                );
            }
        }
    }

    #[test]
    fn yuyv_and_nv12_read_their_planes() {
        // YUYV 2×2: Y0 U Y1 V per pair of pixels.
        let yuyv = [10, 100, 20, 200, 30, 110, 40, 210];
        let picture = I420::from_yuyv(2, 2, &yuyv).expect("size");
        assert_eq!(picture.y, [10, 20, 30, 40]);
        assert_eq!((picture.u[0], picture.v[0]), (105, 205));
        let nv12 = [1, 2, 3, 4, 90, 91];
        let picture = I420::from_nv12(2, 2, &nv12).expect("size");
        assert_eq!(picture.y, [1, 2, 3, 4]);
        assert_eq!((picture.u[0], picture.v[0]), (90, 91));
        assert!(I420::from_yuyv(4, 4, &yuyv).is_none());
        assert!(I420::from_nv12(4, 4, &nv12).is_none());
        assert!(I420::from_rgb(0, 0, &[]).is_none());
    }

    #[test]
    fn big_pictures_are_scaled_to_the_tile() {
        let rgba = Rgba::from_i420(&I420::black(1280, 720), TILE_WIDTH);
        assert_eq!((rgba.width, rgba.height), (320, 180));
        assert_eq!(rgba.pixels.len(), 320 * 180 * 4);
        let fitted = I420::black(640, 480).fit(360, 360);
        assert_eq!((fitted.width, fitted.height), (360, 270));
    }

    #[test]
    fn the_pattern_moves() {
        let mut pattern = TestPattern::new(SEND_WIDTH, SEND_HEIGHT);
        let first = pattern.next_frame();
        let second = pattern.next_frame();
        assert_eq!((first.width, first.height), (640, 360));
        assert_ne!(first, second);
    }
}
