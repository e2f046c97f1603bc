package dev.graft.common.model;

import dev.graft.common.contract.ModelUpdateEvent.ArtifactRef;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * How a model artifact is cut into records of the artifacts topic and put back together.
 * Every chunk record has key = artifact key ({@code task/vN}), header {@link #CHUNK} = "i/n" and
 * header {@link #SHA256} = the whole artifact's hash. All chunks go to one partition; the reference
 * names the partition and the first chunk's offset: {@code kafka://TOPIC/PARTITION/OFFSET?chunks=N}.
 * Records of other artifacts may be interleaved (other writers), so a reader matches on the key.
 */
public final class ArtifactChunks {
    public static final String CHUNK = "graft.artifact.chunk";
    public static final String SHA256 = "graft.artifact.sha256";
    public static final String FORMAT = "graft.artifact.format";

    private ArtifactChunks() {}

    public static List<byte[]> split(byte[] artifact, int chunkBytes) {
        if (chunkBytes <= 0) {
            throw new IllegalArgumentException("chunkBytes must be positive: " + chunkBytes);
        }
        List<byte[]> chunks = new ArrayList<>();
        for (int from = 0; from < artifact.length || chunks.isEmpty(); from += chunkBytes) {
            chunks.add(Arrays.copyOfRange(artifact, from, Math.min(artifact.length, from + chunkBytes)));
        }
        return chunks;
    }

    public static byte[] chunkHeader(int index, int count) {
        return (index + "/" + count).getBytes(StandardCharsets.UTF_8);
    }

    /** Parsed {@code kafka://} reference. */
    public record Location(String topic, int partition, long offset, int chunks) {
        public String uri() {
            return "kafka://" + topic + "/" + partition + "/" + offset + "?chunks=" + chunks;
        }

        public static Location parse(String uri) {
            URI u = URI.create(uri);
            if (!"kafka".equals(u.getScheme())) {
                throw new IllegalArgumentException("not a kafka:// artifact reference: " + uri);
            }
            String[] path = u.getPath().substring(1).split("/");
            String query = Objects.requireNonNullElse(u.getQuery(), "");
            if (path.length != 2 || !query.startsWith("chunks=")) {
                throw new IllegalArgumentException("malformed artifact reference (want kafka://TOPIC/PARTITION/OFFSET?chunks=N): " + uri);
            }
            return new Location(u.getHost(), Integer.parseInt(path[0]), Long.parseLong(path[1]),
                    Integer.parseInt(query.substring("chunks=".length())));
        }
    }

    /** Collects chunks of one artifact in any order; {@link #complete()} when all arrived. */
    public static final class Assembler {
        private final int expected;
        private final Map<Integer, byte[]> parts = new TreeMap<>();

        public Assembler(int expected) {
            this.expected = expected;
        }

        public void add(String chunkHeader, byte[] value) {
            String[] p = chunkHeader.split("/");
            int index = Integer.parseInt(p[0]);
            int count = Integer.parseInt(p[1]);
            if (count != expected || index < 0 || index >= count) {
                throw new IllegalStateException("chunk " + chunkHeader + " does not belong to an artifact of " + expected + " chunks");
            }
            parts.put(index, value);
        }

        public boolean complete() {
            return parts.size() == expected;
        }

        public byte[] bytes(ArtifactRef ref) {
            int total = parts.values().stream().mapToInt(b -> b.length).sum();
            byte[] out = new byte[total];
            int pos = 0;
            for (byte[] b : parts.values()) {
                System.arraycopy(b, 0, out, pos, b.length);
                pos += b.length;
            }
            String actual = Sha256.hex(out);
            if (!actual.equals(ref.sha256())) {
                throw new IllegalStateException("artifact " + ref.uri() + " failed verification: sha256 " + actual
                        + " != expected " + ref.sha256());
            }
            return out;
        }
    }
}
