//! VP8 through the system's libvpx: a [`Decoder`] per received stream and one [`Encoder`] for
//! the camera. This module holds palabre's only `unsafe` code (the C calls); each block says
//! why it is sound. Without the `video` feature both refuse with a sentence.

use super::I420;

/// Why the codec could not do its work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// This build has no video.
    #[error("This build of palabre has no video (it was built without the `video` feature).")]
    NotBuilt,
    /// libvpx refused to start.
    #[error("The VP8 codec could not start (libvpx error {0}).")]
    Init(i32),
    /// A frame could not be decoded.
    #[error("A VP8 frame could not be decoded (libvpx error {0}).")]
    Decode(i32),
    /// A frame could not be encoded.
    #[error("A picture could not be encoded as VP8 (libvpx error {0}).")]
    Encode(i32),
    /// The stream's pictures are bigger than palabre shows.
    #[error("A video stream is {0}×{1} pixels, more than palabre shows.")]
    TooBig(u32, u32),
    /// A picture whose planes do not match its size, or a size the encoder cannot take.
    #[error(
        "A picture of {0}×{1} pixels cannot be encoded (odd, too small, too big or incomplete)."
    )]
    BadPicture(u32, u32),
}

/// One encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The VP8 data.
    pub data: Vec<u8>,
    /// A key frame.
    pub key: bool,
}

impl CodecError {
    /// The error in the window's words (the `Display` sentence is the command line's).
    pub fn phrase(&self) -> crate::i18n::Phrase {
        use crate::i18n::Phrase;
        let code = |id: &'static str, code: &i32| {
            Phrase::tr_args(id, vec![("code", code.to_string().into())])
        };
        let size = |id: &'static str, w: &u32, h: &u32| {
            Phrase::tr_args(
                id,
                vec![
                    ("width", w.to_string().into()),
                    ("height", h.to_string().into()),
                ],
            )
        };
        match self {
            CodecError::NotBuilt => Phrase::tr("video-not-built"),
            CodecError::Init(c) => code("codec-init", c),
            CodecError::Decode(c) => code("codec-decode", c),
            CodecError::Encode(c) => code("codec-encode", c),
            CodecError::TooBig(w, h) => size("codec-too-big", w, h),
            CodecError::BadPicture(w, h) => size("codec-bad-picture", w, h),
        }
    }
}

#[cfg(feature = "video")]
pub use imp::{Decoder, Encoder};

#[cfg(not(feature = "video"))]
pub use none::{Decoder, Encoder};

#[cfg(not(feature = "video"))]
mod none {
    use super::{CodecError, Encoded, I420};

    /// Decodes one VP8 stream (not in this build).
    #[derive(Debug)]
    pub struct Decoder(());

    impl Decoder {
        /// Always refused: this build has no video.
        pub fn new() -> Result<Decoder, CodecError> {
            Err(CodecError::NotBuilt)
        }

        /// Never called.
        pub fn decode(&mut self, _frame: &[u8]) -> Result<Option<I420>, CodecError> {
            Err(CodecError::NotBuilt)
        }
    }

    /// Encodes pictures as VP8 (not in this build).
    #[derive(Debug)]
    pub struct Encoder(());

    impl Encoder {
        /// Always refused: this build has no video.
        pub fn new(
            _width: u32,
            _height: u32,
            _fps: u32,
            _kbps: u32,
        ) -> Result<Encoder, CodecError> {
            Err(CodecError::NotBuilt)
        }

        /// Never called.
        pub fn encode(&mut self, _picture: &I420, _key: bool) -> Result<Vec<Encoded>, CodecError> {
            Err(CodecError::NotBuilt)
        }
    }
}

#[cfg(feature = "video")]
#[allow(unsafe_code)]
mod imp {
    use std::os::raw::{c_int, c_long, c_ulong};
    use std::ptr;

    use vpx_sys as vpx;

    use super::{CodecError, Encoded, I420};
    use crate::video::{MAX_FRAME_HEIGHT, MAX_FRAME_WIDTH};

    fn check(result: vpx::vpx_codec_err_t, error: fn(i32) -> CodecError) -> Result<(), CodecError> {
        if result == vpx::vpx_codec_err_t::VPX_CODEC_OK {
            Ok(())
        } else {
            Err(error(result as i32))
        }
    }

    /// Decodes one VP8 stream.
    pub struct Decoder {
        ctx: Box<vpx::vpx_codec_ctx_t>,
    }

    impl std::fmt::Debug for Decoder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Decoder")
        }
    }

    // The context is only ever used through `&mut self`, from one thread at a time.
    unsafe impl Send for Decoder {}

    impl Decoder {
        /// A decoder for a new stream.
        pub fn new() -> Result<Decoder, CodecError> {
            // SAFETY: a zeroed context is what libvpx expects before init; the box keeps its
            // address fixed for libvpx's internal pointers. The config outlives the call.
            unsafe {
                let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
                let config = vpx::vpx_codec_dec_cfg_t {
                    threads: 1,
                    w: 0,
                    h: 0,
                };
                check(
                    vpx::vpx_codec_dec_init_ver(
                        &mut *ctx,
                        vpx::vpx_codec_vp8_dx(),
                        &config,
                        0,
                        vpx::VPX_DECODER_ABI_VERSION as c_int,
                    ),
                    CodecError::Init,
                )?;
                Ok(Decoder { ctx })
            }
        }

        /// Decodes one whole frame; the picture it shows, if any.
        pub fn decode(&mut self, frame: &[u8]) -> Result<Option<I420>, CodecError> {
            let len = u32::try_from(frame.len()).map_err(|_| CodecError::Decode(-1))?;
            // A key frame announces its size, and libvpx allocates for it before decoding: a
            // hostile sender could announce 16383×16383. Refused before libvpx sees it.
            if let Some((width, height)) = crate::video::vp8::key_frame_size(frame)
                && (width > MAX_FRAME_WIDTH || height > MAX_FRAME_HEIGHT)
            {
                return Err(CodecError::TooBig(width, height));
            }
            // SAFETY: `frame` is valid for `len` bytes during the call; the context was
            // initialised in `new`. Images returned by get_frame stay valid until the next
            // decode call, and are copied out before returning; their planes are read within
            // the sizes libvpx reports (d_w × d_h, with its strides), checked against our caps.
            unsafe {
                check(
                    vpx::vpx_codec_decode(&mut *self.ctx, frame.as_ptr(), len, ptr::null_mut(), 0),
                    CodecError::Decode,
                )?;
                let mut iter: vpx::vpx_codec_iter_t = ptr::null();
                let mut last = None;
                loop {
                    let image = vpx::vpx_codec_get_frame(&mut *self.ctx, &mut iter);
                    if image.is_null() {
                        break;
                    }
                    let image = &*image;
                    if image.fmt != vpx::vpx_img_fmt::VPX_IMG_FMT_I420 {
                        continue;
                    }
                    let (w, h) = (image.d_w, image.d_h);
                    if w > MAX_FRAME_WIDTH || h > MAX_FRAME_HEIGHT {
                        return Err(CodecError::TooBig(w, h));
                    }
                    if w < 2 || h < 2 {
                        continue;
                    }
                    let (even_w, even_h) = (w & !1, h & !1);
                    let mut picture = I420::black(even_w, even_h);
                    copy_plane(
                        image.planes[0],
                        image.stride[0],
                        even_w,
                        even_h,
                        &mut picture.y,
                    );
                    copy_plane(
                        image.planes[1],
                        image.stride[1],
                        even_w / 2,
                        even_h / 2,
                        &mut picture.u,
                    );
                    copy_plane(
                        image.planes[2],
                        image.stride[2],
                        even_w / 2,
                        even_h / 2,
                        &mut picture.v,
                    );
                    last = Some(picture);
                }
                Ok(last)
            }
        }
    }

    /// Copies `height` rows of `width` bytes from a libvpx plane.
    ///
    /// SAFETY (caller): `plane` points at a plane of at least `height` rows of `stride` bytes,
    /// each at least `width` bytes long.
    unsafe fn copy_plane(plane: *const u8, stride: c_int, width: u32, height: u32, out: &mut [u8]) {
        let (width, height) = (width as usize, height as usize);
        for row in 0..height {
            // SAFETY: within the plane, as the caller promised.
            let line = unsafe {
                std::slice::from_raw_parts(plane.offset(row as isize * stride as isize), width)
            };
            out[row * width..(row + 1) * width].copy_from_slice(line);
        }
    }

    impl Drop for Decoder {
        fn drop(&mut self) {
            // SAFETY: initialised in `new`, destroyed once.
            unsafe {
                vpx::vpx_codec_destroy(&mut *self.ctx);
            }
        }
    }

    /// Encodes pictures of one size as VP8, for real time.
    pub struct Encoder {
        ctx: Box<vpx::vpx_codec_ctx_t>,
        width: u32,
        height: u32,
        pts: i64,
    }

    impl std::fmt::Debug for Encoder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Encoder({}×{})", self.width, self.height)
        }
    }

    // As for the decoder.
    unsafe impl Send for Encoder {}

    impl Encoder {
        /// An encoder for `width`×`height` pictures at `fps` frames a second and `kbps`.
        pub fn new(width: u32, height: u32, fps: u32, kbps: u32) -> Result<Encoder, CodecError> {
            if width < 2
                || height < 2
                || !width.is_multiple_of(2)
                || !height.is_multiple_of(2)
                || width > MAX_FRAME_WIDTH
                || height > MAX_FRAME_HEIGHT
            {
                return Err(CodecError::BadPicture(width, height));
            }
            // SAFETY: the config is filled by libvpx's defaults then adjusted; the context (pointers,
            // and an error code whose zero is "OK") is zeroed before init and boxed so that it does not move.
            unsafe {
                // Not zeroed: some of its enums have no zero value. libvpx fills it all.
                let mut config = std::mem::MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit();
                check(
                    vpx::vpx_codec_enc_config_default(
                        vpx::vpx_codec_vp8_cx(),
                        config.as_mut_ptr(),
                        0,
                    ),
                    CodecError::Init,
                )?;
                let mut config = config.assume_init();
                config.g_w = width;
                config.g_h = height;
                config.g_timebase = vpx::vpx_rational {
                    num: 1,
                    den: fps.max(1) as c_int,
                };
                config.g_threads = 1;
                config.g_lag_in_frames = 0;
                config.g_error_resilient = 1;
                config.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
                config.rc_target_bitrate = kbps;
                config.rc_min_quantizer = 4;
                config.rc_max_quantizer = 56;
                config.rc_dropframe_thresh = 0;
                config.kf_mode = vpx::vpx_kf_mode::VPX_KF_AUTO;
                config.kf_max_dist = fps * 10;
                let mut ctx: Box<vpx::vpx_codec_ctx_t> = Box::new(std::mem::zeroed());
                check(
                    vpx::vpx_codec_enc_init_ver(
                        &mut *ctx,
                        vpx::vpx_codec_vp8_cx(),
                        &config,
                        0,
                        vpx::VPX_ENCODER_ABI_VERSION as c_int,
                    ),
                    CodecError::Init,
                )?;
                Ok(Encoder {
                    ctx,
                    width,
                    height,
                    pts: 0,
                })
            }
        }

        /// Encodes one picture (scaled to the encoder's size when it differs); `key` forces a
        /// key frame (the bridge asked for one).
        pub fn encode(&mut self, picture: &I420, key: bool) -> Result<Vec<Encoded>, CodecError> {
            if !picture.is_valid() {
                return Err(CodecError::BadPicture(picture.width, picture.height));
            }
            let scaled;
            let picture = if picture.width != self.width || picture.height != self.height {
                scaled = fit_exactly(picture, self.width, self.height);
                &scaled
            } else {
                picture
            };
            let mut data = Vec::with_capacity(picture.y.len() + picture.u.len() * 2);
            data.extend_from_slice(&picture.y);
            data.extend_from_slice(&picture.u);
            data.extend_from_slice(&picture.v);
            // What libvpx will read: the whole I420 picture of the encoder's (even) size.
            let (w, h) = (self.width as usize, self.height as usize);
            if data.len() != w * h + 2 * (w / 2) * (h / 2) {
                return Err(CodecError::BadPicture(picture.width, picture.height));
            }
            // SAFETY: `data` holds one I420 picture of the encoder's size, contiguous (stride
            // = width, as vpx_img_wrap with alignment 1 assumes) and outlives the encode call,
            // which copies what it needs. Packets from get_cx_data are copied out before the
            // next encode.
            unsafe {
                let mut image = std::mem::MaybeUninit::<vpx::vpx_image_t>::uninit();
                let wrapped = vpx::vpx_img_wrap(
                    image.as_mut_ptr(),
                    vpx::vpx_img_fmt::VPX_IMG_FMT_I420,
                    self.width,
                    self.height,
                    1,
                    data.as_mut_ptr(),
                );
                if wrapped.is_null() {
                    return Err(CodecError::Encode(-1));
                }
                let image = image.assume_init();
                let flags = if key {
                    vpx::VPX_EFLAG_FORCE_KF as c_long
                } else {
                    0
                };
                check(
                    vpx::vpx_codec_encode(
                        &mut *self.ctx,
                        &image,
                        self.pts,
                        1,
                        flags,
                        vpx::VPX_DL_REALTIME as c_ulong,
                    ),
                    CodecError::Encode,
                )?;
                self.pts += 1;
                let mut out = Vec::new();
                let mut iter: vpx::vpx_codec_iter_t = ptr::null();
                loop {
                    let packet = vpx::vpx_codec_get_cx_data(&mut *self.ctx, &mut iter);
                    if packet.is_null() {
                        break;
                    }
                    let packet = &*packet;
                    if packet.kind != vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                        continue;
                    }
                    let frame = packet.data.frame;
                    let bytes =
                        std::slice::from_raw_parts(frame.buf as *const u8, frame.sz as usize);
                    out.push(Encoded {
                        data: bytes.to_vec(),
                        key: frame.flags & vpx::VPX_FRAME_IS_KEY != 0,
                    });
                }
                Ok(out)
            }
        }
    }

    /// A picture of exactly `width`×`height` (even): `picture` (valid) scaled to fit, keeping
    /// its aspect, centred on black (a 4:3 camera gets bars at its sides, not a stretched face).
    fn fit_exactly(picture: &I420, width: u32, height: u32) -> I420 {
        let mut out = I420::black(width, height);
        let scale = f64::min(
            f64::from(width) / f64::from(picture.width),
            f64::from(height) / f64::from(picture.height),
        );
        let fw = (((f64::from(picture.width) * scale) as u32) & !1).clamp(2, width) as usize;
        let fh = (((f64::from(picture.height) * scale) as u32) & !1).clamp(2, height) as usize;
        let (sw, sh, dw) = (
            picture.width as usize,
            picture.height as usize,
            width as usize,
        );
        // Even offsets, so that chroma lines up.
        let (ox, oy) = (((dw - fw) / 2) & !1, ((height as usize - fh) / 2) & !1);
        for row in 0..fh {
            for x in 0..fw {
                out.y[(oy + row) * dw + ox + x] = picture.y[(row * sh / fh) * sw + x * sw / fw];
            }
        }
        for row in 0..fh / 2 {
            for x in 0..fw / 2 {
                let from = (row * (sh / 2) / (fh / 2)) * (sw / 2) + x * (sw / 2) / (fw / 2);
                let to = (oy / 2 + row) * (dw / 2) + ox / 2 + x;
                out.u[to] = picture.u[from];
                out.v[to] = picture.v[from];
            }
        }
        out
    }

    impl Drop for Encoder {
        fn drop(&mut self) {
            // SAFETY: initialised in `new`, destroyed once.
            unsafe {
                vpx::vpx_codec_destroy(&mut *self.ctx);
            }
        }
    }
}

#[cfg(test)]
mod phrase_tests {
    use super::CodecError;

    #[test]
    fn every_codec_error_is_said_in_both_languages() {
        for error in [
            CodecError::NotBuilt,
            CodecError::Init(1),
            CodecError::Decode(2),
            CodecError::Encode(3),
            CodecError::TooBig(4000, 3000),
            CodecError::BadPicture(3, 5),
        ] {
            crate::i18n::assert_said_in_both_languages(
                &error.phrase(),
                &error.to_string(),
                "codec-",
            );
        }
    }
}

#[cfg(all(test, feature = "video"))]
mod tests {
    use super::*;
    use crate::video::{Rgba, SEND_HEIGHT, SEND_WIDTH, TestPattern};

    #[test]
    fn a_pattern_survives_encoding_and_decoding() {
        let mut pattern = TestPattern::new(SEND_WIDTH, SEND_HEIGHT);
        let mut encoder = Encoder::new(SEND_WIDTH, SEND_HEIGHT, 15, 300).expect("encoder");
        let mut decoder = Decoder::new().expect("decoder");
        let mut decoded = 0;
        let mut keys = 0;
        for index in 0..30 {
            let picture = pattern.next_frame();
            for encoded in encoder.encode(&picture, index == 20).expect("encodes") {
                keys += usize::from(encoded.key);
                assert_eq!(crate::video::vp8::is_key_frame(&encoded.data), encoded.key);
                let back = decoder
                    .decode(&encoded.data)
                    .expect("decodes")
                    .expect("a picture");
                assert_eq!((back.width, back.height), (SEND_WIDTH, SEND_HEIGHT));
                // The bars come back: the first is near white, the last near black.
                let rgba = Rgba::from_i420(&back, SEND_WIDTH);
                let at = |x: usize| rgba.pixels[(10 * SEND_WIDTH as usize + x) * 4];
                assert!(
                    at(5) > 200 && at(SEND_WIDTH as usize - 5) < 40,
                    "{} {}",
                    at(5),
                    at(635)
                );
                decoded += 1;
            }
        }
        assert_eq!(decoded, 30);
        assert_eq!(keys, 2, "the first frame and the one asked for");
    }

    #[test]
    fn bad_pictures_and_sizes_are_refused_and_4_3_gets_bars() {
        assert_eq!(
            Encoder::new(269, 100, 15, 100).err(),
            Some(CodecError::BadPicture(269, 100))
        );
        assert!(Encoder::new(4000, 360, 15, 100).is_err());
        let mut encoder = Encoder::new(64, 36, 15, 100).expect("encoder");
        let mut short = crate::video::I420::black(64, 36);
        short.u.pop();
        assert_eq!(
            encoder.encode(&short, true),
            Err(CodecError::BadPicture(64, 36))
        );
        // A white 4:3 picture into a 16:9 encoder: white in the middle, black at the sides.
        let mut white = crate::video::I420::black(48, 36);
        white.y.fill(235);
        let encoded = encoder.encode(&white, true).expect("encodes");
        let mut decoder = Decoder::new().expect("decoder");
        let back = decoder
            .decode(&encoded[0].data)
            .expect("decodes")
            .expect("a picture");
        let at = |x: usize| back.y[18 * 64 + x];
        assert!(
            at(2) < 60 && at(32) > 180 && at(61) < 60,
            "{} {} {}",
            at(2),
            at(32),
            at(61)
        );
    }

    #[test]
    fn garbage_is_refused_not_crashed_on() {
        let mut decoder = Decoder::new().expect("decoder");
        for garbage in [
            &[][..],
            &[0u8; 3],
            &[0xffu8; 100],
            &[0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0xff, 0xff, 0xff],
        ] {
            let _ = decoder.decode(garbage);
        }
        // A key frame announcing 16383×16383 is refused before libvpx allocates for it.
        let huge = [
            0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0xff, 0x3f, 0xff, 0x3f, 0, 0, 0, 0,
        ];
        assert_eq!(decoder.decode(&huge), Err(CodecError::TooBig(16383, 16383)));
        // Still decodes a real stream afterwards.
        let mut encoder = Encoder::new(64, 48, 15, 100).expect("encoder");
        let encoded = encoder
            .encode(&crate::video::I420::black(64, 48), true)
            .expect("encodes");
        assert!(decoder.decode(&encoded[0].data).expect("decodes").is_some());
    }
}
