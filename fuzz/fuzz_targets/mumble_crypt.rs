//! Fuzzes Mumble's OCB2-AES128 receiver (`palabre::proto::mumble::crypt::CryptState`) with a
//! fixed key.
//!
//! The input is a script of operations on a sender and a receiver sharing the key:
//! - `0`: the sender encrypts the next bytes (a length byte, then up to 4 × length bytes);
//! - `1`: the receiver decrypts one of the packets sent so far, chosen by the next byte, in any
//!   order and any number of times (loss, reordering, replay);
//! - `2`: the receiver decrypts raw bytes (a 2-byte length, then up to that many bytes);
//! - `3`: a resync hands the sender's encrypt nonce to the receiver, and the resync hint is
//!   polled at a time taken from the next byte.
//!
//! Checked properties: nothing panics; a sent packet decrypts to what was sent (with the
//! countermeasure bit flip where it applies), never more than once; a rejected decrypt leaves
//! the output buffer unchanged; the good counter counts accepted packets.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use palabre::proto::mumble::crypt::CryptState;

const KEY: [u8; 16] = *b"palabre fuzz key";
const NONCE_A: [u8; 16] = [0x5a; 16];
const NONCE_B: [u8; 16] = [0xa5; 16];

/// What the receiver sees of `plain`: Mumble's encrypter flips bit 0 of the second-to-last
/// block when its first 15 bytes are zero (the countermeasure against ePrint 2019/311).
fn as_received(plain: &[u8]) -> Vec<u8> {
    let mut expected = plain.to_vec();
    if plain.len() > 16 {
        let offset = (plain.len() - 17) / 16 * 16;
        if plain[offset..offset + 15].iter().all(|&b| b == 0) {
            expected[offset] ^= 1;
        }
    }
    expected
}

/// Splits off up to `n` bytes from the front of `input`.
fn take<'a>(n: usize, input: &mut &'a [u8]) -> &'a [u8] {
    let (taken, rest) = input.split_at(n.min(input.len()));
    *input = rest;
    taken
}

fuzz_target!(|data: &[u8]| {
    let mut sender = CryptState::new(KEY, NONCE_A, NONCE_B);
    let mut receiver = CryptState::new(KEY, NONCE_B, NONCE_A);
    let start = Instant::now();
    let mut sent: Vec<(Vec<u8>, Vec<u8>, bool)> = Vec::new();
    let mut good = 0u32;
    let mut input = data;
    while let Some((&op, rest)) = input.split_first() {
        input = rest;
        match op % 4 {
            0 => {
                let len = take(1, &mut input)
                    .first()
                    .map_or(0, |&n| usize::from(n) * 4);
                let plain = take(len, &mut input);
                let mut packet = Vec::new();
                sender
                    .encrypt(plain, &mut packet)
                    .expect("at most 1020 bytes");
                sent.push((packet, as_received(plain), false));
            }
            1 => {
                let index = take(1, &mut input).first().map_or(0, |&i| usize::from(i));
                if sent.is_empty() {
                    continue;
                }
                let count = sent.len();
                let (packet, expected, accepted) = &mut sent[index % count];
                let mut out = vec![0xee];
                if receiver.decrypt(packet, &mut out).is_ok() {
                    assert!(!*accepted, "a packet was accepted twice");
                    assert_eq!(out[0], 0xee);
                    assert_eq!(&out[1..], expected.as_slice());
                    *accepted = true;
                    good += 1;
                } else {
                    assert_eq!(out, [0xee], "output touched by a rejected packet");
                }
            }
            2 => {
                let len = take(2, &mut input);
                let len = len.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)) % 1100;
                let raw = take(len, &mut input);
                let mut out = Vec::new();
                if receiver.decrypt(raw, &mut out).is_ok() {
                    // A 24-bit tag can be guessed; it counts as good like any other.
                    good += 1;
                } else {
                    assert!(out.is_empty(), "output touched by a rejected packet");
                }
            }
            _ => {
                receiver
                    .set_decrypt_nonce(&sender.encrypt_nonce())
                    .expect("16 bytes");
                let secs = take(1, &mut input).first().map_or(0, |&s| u64::from(s));
                let _ = receiver.needs_resync(start + Duration::from_secs(secs));
            }
        }
        assert_eq!(receiver.stats().good, good);
    }
});
