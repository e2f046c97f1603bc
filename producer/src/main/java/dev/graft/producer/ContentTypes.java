package dev.graft.producer;

/** MIME type of encoded image bytes, from their magic numbers (not from a file name). */
public final class ContentTypes {
    public static final String PNG = "image/png";
    public static final String JPEG = "image/jpeg";
    public static final String GIF = "image/gif";
    public static final String BMP = "image/bmp";
    public static final String WEBP = "image/webp";
    public static final String TIFF = "image/tiff";
    public static final String UNKNOWN = "application/octet-stream";

    private ContentTypes() {}

    public static String sniff(byte[] b) {
        if (starts(b, 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a)) {
            return PNG;
        }
        if (starts(b, 0xff, 0xd8, 0xff)) {
            return JPEG;
        }
        if (starts(b, 'G', 'I', 'F', '8')) {
            return GIF;
        }
        if (starts(b, 'B', 'M')) {
            return BMP;
        }
        if (starts(b, 'R', 'I', 'F', 'F') && b.length >= 12 && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
            return WEBP;
        }
        if (starts(b, 'I', 'I', 42, 0) || starts(b, 'M', 'M', 0, 42)) {
            return TIFF;
        }
        return UNKNOWN;
    }

    private static boolean starts(byte[] b, int... prefix) {
        if (b == null || b.length < prefix.length) {
            return false;
        }
        for (int i = 0; i < prefix.length; i++) {
            if ((b[i] & 0xff) != prefix[i]) {
                return false;
            }
        }
        return true;
    }
}
