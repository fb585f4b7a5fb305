;; Normalisation kernel of the cache loader (see normalise.ts): interleaved RGB uint8 values in, float32
;; (v - mean[c]) / std[c] out, computed as ((v - meanHi[c]) - meanLo[c]) * invStd[c] in float32.
;; meanHi + meanLo is the mean to ~48 bits, so values near the mean keep their relative precision (a single
;; float32 mean, or v * scale + offset, loses up to 1e-5 relative there to cancellation).
;;
;; normalise(src, dst, n, k): reads n bytes at src, writes n float32 at dst (16-byte aligned), the first value
;; being channel 0. k points at 144 bytes of constants, three groups of three f32x4 (meanHi at k, meanLo at
;; k + 48, invStd at k + 96), each group rotated for the three positions of 4 pixels in 12 values:
;; (r g b r) (g b r g) (b r g b). Lanes 0-2 of each group's first vector are the scalars of r, g, b.
;;
;; Each step loads 16 bytes to use 12, so src must be followed by 4 readable bytes beyond src + n.
(module
  (import "env" "memory" (memory 1))
  (func (export "normalise") (param $src i32) (param $dst i32) (param $n i32) (param $k i32)
    (local $end i32) (local $vend i32) (local $c i32) (local $v v128) (local $zero v128)
    (local $hi0 v128) (local $hi1 v128) (local $hi2 v128)
    (local $lo0 v128) (local $lo1 v128) (local $lo2 v128)
    (local $is0 v128) (local $is1 v128) (local $is2 v128)
    (local.set $end (i32.add (local.get $src) (local.get $n)))
    (local.set $vend (i32.sub (local.get $end) (i32.rem_u (local.get $n) (i32.const 12))))
    (local.set $hi0 (v128.load offset=0 (local.get $k)))
    (local.set $hi1 (v128.load offset=16 (local.get $k)))
    (local.set $hi2 (v128.load offset=32 (local.get $k)))
    (local.set $lo0 (v128.load offset=48 (local.get $k)))
    (local.set $lo1 (v128.load offset=64 (local.get $k)))
    (local.set $lo2 (v128.load offset=80 (local.get $k)))
    (local.set $is0 (v128.load offset=96 (local.get $k)))
    (local.set $is1 (v128.load offset=112 (local.get $k)))
    (local.set $is2 (v128.load offset=128 (local.get $k)))
    ;; 4 pixels per step: bytes 0-3, 4-7, 8-11 zero-extended to i32 lanes by one byte shuffle each (index 16
    ;; takes a byte of $zero). Values are 0-255, so the signed conversion (one instruction on x86, unlike the
    ;; unsigned one) is exact.
    (block $vdone
      (loop $vstep
        (br_if $vdone (i32.ge_u (local.get $src) (local.get $vend)))
        (local.set $v (v128.load (local.get $src)))
        (v128.store offset=0 (local.get $dst)
          (f32x4.mul
            (f32x4.sub
              (f32x4.sub
                (f32x4.convert_i32x4_s
                  (i8x16.shuffle 0 16 16 16 1 16 16 16 2 16 16 16 3 16 16 16 (local.get $v) (local.get $zero)))
                (local.get $hi0))
              (local.get $lo0))
            (local.get $is0)))
        (v128.store offset=16 (local.get $dst)
          (f32x4.mul
            (f32x4.sub
              (f32x4.sub
                (f32x4.convert_i32x4_s
                  (i8x16.shuffle 4 16 16 16 5 16 16 16 6 16 16 16 7 16 16 16 (local.get $v) (local.get $zero)))
                (local.get $hi1))
              (local.get $lo1))
            (local.get $is1)))
        (v128.store offset=32 (local.get $dst)
          (f32x4.mul
            (f32x4.sub
              (f32x4.sub
                (f32x4.convert_i32x4_s
                  (i8x16.shuffle 8 16 16 16 9 16 16 16 10 16 16 16 11 16 16 16 (local.get $v) (local.get $zero)))
                (local.get $hi2))
              (local.get $lo2))
            (local.get $is2)))
        (local.set $src (i32.add (local.get $src) (i32.const 12)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 48)))
        (br $vstep)))
    ;; The last n mod 12 values (fewer than 4 pixels), one at a time, same arithmetic; $c = 4 × channel.
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (f32.store (local.get $dst)
          (f32.mul
            (f32.sub
              (f32.sub
                (f32.convert_i32_u (i32.load8_u (local.get $src)))
                (f32.load offset=0 (i32.add (local.get $k) (local.get $c))))
              (f32.load offset=48 (i32.add (local.get $k) (local.get $c))))
            (f32.load offset=96 (i32.add (local.get $k) (local.get $c)))))
        (local.set $c (select (i32.const 0) (i32.add (local.get $c) (i32.const 4)) (i32.eq (local.get $c) (i32.const 8))))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (br $step)))))
