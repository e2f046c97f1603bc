package dev.graft.finetune;

import dev.graft.common.image.Resizer;
import dev.graft.common.image.RgbImage;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Training-time augmentation of decoded images (why fine-tuning works on images, not cached features):
 * {@code flip} mirrors left-right with probability 1/2; {@code crop} takes a random crop of 80-100% of each side
 * before the resize to the input size. Parsed from a comma list ({@code "flip,crop"}; empty or {@code none} = no
 * augmentation).
 */
public record Augmentation(boolean flip, boolean crop) {
    public static final Augmentation NONE = new Augmentation(false, false);
    static final double MIN_CROP = 0.8;

    public static Augmentation parse(String s) {
        if (s == null || s.isBlank() || s.trim().equalsIgnoreCase("none")) return NONE;
        boolean flip = false;
        boolean crop = false;
        for (String part : s.split(",")) {
            switch (part.trim().toLowerCase(Locale.ROOT)) {
                case "flip" -> flip = true;
                case "crop" -> crop = true;
                case "" -> { }
                default -> throw new IllegalArgumentException("unknown augmentation '" + part.trim()
                        + "'; accepted: flip, crop (comma-separated), or empty for none");
            }
        }
        return new Augmentation(flip, crop);
    }

    /** Resizes {@code img} (augmented if enabled, drawing from {@code rnd}) into {@code dst} at {@code offset}. */
    public void into(RgbImage img, int size, float[] dst, int offset, Random rnd) {
        RgbImage src = crop ? randomCrop(img, rnd) : img;
        Resizer.resizeInto(src, size, dst, offset);
        if (flip && rnd.nextBoolean()) {
            for (int y = 0; y < size; y++) {
                int row = offset + y * size * 3;
                for (int x = 0; x < size / 2; x++) {
                    int a = row + x * 3;
                    int b = row + (size - 1 - x) * 3;
                    for (int c = 0; c < 3; c++) {
                        float t = dst[a + c];
                        dst[a + c] = dst[b + c];
                        dst[b + c] = t;
                    }
                }
            }
        }
    }

    private static RgbImage randomCrop(RgbImage img, Random rnd) {
        int w = Math.max(1, (int) Math.round(img.width() * (MIN_CROP + (1 - MIN_CROP) * rnd.nextDouble())));
        int h = Math.max(1, (int) Math.round(img.height() * (MIN_CROP + (1 - MIN_CROP) * rnd.nextDouble())));
        int x0 = rnd.nextInt(img.width() - w + 1);
        int y0 = rnd.nextInt(img.height() - h + 1);
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            System.arraycopy(img.rgb(), ((y0 + y) * img.width() + x0) * 3, out, y * w * 3, w * 3);
        }
        return new RgbImage(w, h, out);
    }

    @Override
    public String toString() {
        List<String> on = new ArrayList<>();
        if (flip) on.add("flip");
        if (crop) on.add("crop");
        return String.join(",", on);
    }
}
