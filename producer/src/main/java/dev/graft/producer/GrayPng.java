package dev.graft.producer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Minimal encoder of 8-bit grayscale PNGs (IHDR, one IDAT, IEND; filter type 0; no metadata), much
 * faster than ImageIO's writer for tiny images and byte-for-byte deterministic. Not thread-safe
 * (reuses its Deflater); one instance per thread.
 */
final class GrayPng {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    private final Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION);
    private final CRC32 crc = new CRC32();
    private byte[] scratch = new byte[0];

    /** @param pixels width*height unsigned bytes, row-major */
    byte[] encode(int width, int height, byte[] pixels) {
        if (pixels.length != width * height) {
            throw new IllegalArgumentException(pixels.length + " pixels for " + width + "x" + height);
        }
        byte[] raw = new byte[(width + 1) * height];
        for (int y = 0; y < height; y++) {
            raw[y * (width + 1)] = 0; // filter: none
            System.arraycopy(pixels, y * width, raw, y * (width + 1) + 1, width);
        }
        deflater.reset();
        deflater.setInput(raw);
        deflater.finish();
        ByteArrayOutputStream z = new ByteArrayOutputStream(raw.length / 2 + 64);
        if (scratch.length < 8192) {
            scratch = new byte[8192];
        }
        while (!deflater.finished()) {
            int n = deflater.deflate(scratch);
            z.write(scratch, 0, n);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(z.size() + 64);
        out.writeBytes(SIGNATURE);
        byte[] ihdr = new byte[13];
        putInt(ihdr, 0, width);
        putInt(ihdr, 4, height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 0; // colour type: grayscale
        chunk(out, "IHDR", ihdr);
        chunk(out, "IDAT", z.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        byte[] len = new byte[4];
        putInt(len, 0, data.length);
        out.writeBytes(len);
        out.writeBytes(t);
        out.writeBytes(data);
        crc.reset();
        crc.update(t);
        crc.update(data);
        byte[] c = new byte[4];
        putInt(c, 0, (int) crc.getValue());
        out.writeBytes(c);
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    void close() {
        deflater.end();
    }
}
