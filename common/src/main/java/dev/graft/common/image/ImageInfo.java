package dev.graft.common.image;

/**
 * What an image header declares, read without decoding pixels.
 *
 * @param format ImageIO's format name in lower case, e.g. {@code png}, {@code jpeg}
 */
public record ImageInfo(String format, int width, int height) {
    public long pixels() {
        return (long) width * height;
    }
}
