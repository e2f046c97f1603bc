package dev.graft.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.graft.common.contract.ImageHeaders;
import dev.graft.common.contract.Split;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class ImagePublisherTest {
    static final String TOPIC = "graft.images";

    static MockProducer<byte[], byte[]> mock(boolean autoComplete) {
        return new MockProducer<>(autoComplete, null, new ByteArraySerializer(), new ByteArraySerializer());
    }

    static List<LabelledImage> images(int n) {
        return IntStream.range(0, n).mapToObj(i -> new LabelledImage("img/" + i, new byte[] {(byte) i, 1, 2},
                ContentTypes.PNG, i % 3 == 0 ? null : "class" + (i % 3), i == 0 ? Split.TEST : null))
                .collect(Collectors.toList());
    }

    static ImageSource source(List<LabelledImage> list) {
        Iterator<LabelledImage> it = list.iterator();
        return new ImageSource() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public LabelledImage next() {
                return it.next();
            }

            @Override
            public long expectedCount() {
                return list.size();
            }

            @Override
            public String describe() {
                return "test";
            }
        };
    }

    static String header(ProducerRecord<byte[], byte[]> r, String name) {
        return ImageHeaders.get(r.headers(), name).orElse(null);
    }

    @Test
    void publishesKeysValuesHeadersAndSummary() {
        MockProducer<byte[], byte[]> producer = mock(true);
        ImagePublisher pub = new ImagePublisher(producer, TOPIC, 20, 10);
        List<LabelledImage> imgs = images(300);
        List<ImagePublisher.Progress> progress = new ArrayList<>();
        PublishSummary s = pub.publish("shoes", source(imgs), progress::add);

        List<ProducerRecord<byte[], byte[]>> sent = producer.history();
        assertThat(sent).hasSize(300);
        assertThat(producer.flushed()).isTrue();
        ProducerRecord<byte[], byte[]> r1 = sent.get(1);
        assertThat(r1.topic()).isEqualTo(TOPIC);
        assertThat(new String(r1.key(), StandardCharsets.UTF_8)).isEqualTo("img/1");
        assertThat(r1.value()).containsExactly(1, 1, 2);
        assertThat(header(r1, ImageHeaders.TASK)).isEqualTo("shoes");
        assertThat(header(r1, ImageHeaders.LABEL)).isEqualTo("class1");
        assertThat(header(r1, ImageHeaders.CONTENT_TYPE)).isEqualTo("image/png");
        assertThat(header(r1, ImageHeaders.SPLIT)).isEqualTo(Split.assign("img/1", 20, 10).wire());
        assertThat(r1.headers().headers(ImageHeaders.SPLIT)).hasSize(1);
        // unlabelled: no label header at all; a given split wins over the hash
        ProducerRecord<byte[], byte[]> r0 = sent.get(0);
        assertThat(r0.headers().lastHeader(ImageHeaders.LABEL)).isNull();
        assertThat(header(r0, ImageHeaders.SPLIT)).isEqualTo("test");

        // every record's split header is the stable hash (or the given split)
        for (int i = 1; i < sent.size(); i++) {
            assertThat(header(sent.get(i), ImageHeaders.SPLIT)).isEqualTo(Split.assign("img/" + i, 20, 10).wire());
        }
        assertThat(s.ok()).isTrue();
        assertThat(s.submitted()).isEqualTo(300);
        assertThat(s.sent()).isEqualTo(300);
        assertThat(s.bytes()).isEqualTo(900);
        assertThat(s.failed()).isZero();
        assertThat(s.unlabelled()).isEqualTo(100);
        assertThat(s.perLabel()).containsExactly(java.util.Map.entry("class1", 100L), java.util.Map.entry("class2", 100L));
        assertThat(s.perSplit().values().stream().mapToLong(Long::longValue).sum()).isEqualTo(300);
        long expectedTest = 1 + IntStream.range(1, 300).filter(i -> Split.assign("img/" + i, 20, 10) == Split.TEST).count();
        assertThat(s.perSplit().get(Split.TEST)).isEqualTo(expectedTest);
        assertThat(s.perSplit().get(Split.TRAIN)).isBetween(170L, 250L);
        assertThat(s.perSplit().get(Split.VALIDATION)).isBetween(30L, 90L);

        assertThat(progress).hasSize(301);
        assertThat(progress.get(0).submitted()).isEqualTo(1);
        assertThat(progress.get(0).expected()).isEqualTo(300);
        assertThat(progress.get(progress.size() - 1).completed()).isEqualTo(300);
        assertThat(pub.progress().acknowledged()).isEqualTo(300);

        // publishing again assigns the same splits
        MockProducer<byte[], byte[]> again = mock(true);
        new ImagePublisher(again, TOPIC, 20, 10).publish("shoes", source(imgs));
        for (int i = 0; i < 300; i++) {
            assertThat(header(again.history().get(i), ImageHeaders.SPLIT)).isEqualTo(header(sent.get(i), ImageHeaders.SPLIT));
        }
    }

    @Test
    void failedSendCallbackSurfacesAtTheEnd() {
        MockProducer<byte[], byte[]> producer = mock(false);
        ImagePublisher pub = new ImagePublisher(producer, TOPIC, 10, 10);
        // fail the 3rd record in its callback (the producer's I/O path), complete the rest on flush
        PublishException e = catchThrowableOfType(PublishException.class, () -> pub.publish("t", source(images(10)), p -> {
            if (p.submitted() == 3) {
                producer.completeNext();
                producer.completeNext();
                producer.errorNext(new TimeoutException("broker gone"));
            }
        }));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("1 of 10 images were not published", "img/2", "broker gone");
        PublishSummary s = e.summary();
        assertThat(s.submitted()).isEqualTo(10);
        assertThat(s.sent()).isEqualTo(9);
        assertThat(s.failed()).isEqualTo(1);
        assertThat(s.failures()).extracting(PublishSummary.Failure::imageId).containsExactly("img/2");
        assertThat(s.ok()).isFalse();
    }

    @Test
    void synchronousSendFailureAndSourceFailureStopWithSummary() {
        MockProducer<byte[], byte[]> producer = mock(true);
        producer.sendException = new org.apache.kafka.common.KafkaException("producer closed");
        ImagePublisher pub = new ImagePublisher(producer, TOPIC, 10, 10);
        PublishException e = catchThrowableOfType(PublishException.class, () -> pub.publish("t", source(images(5))));
        assertThat(e.getMessage()).contains("stopped after 1 images", "producer closed");
        assertThat(e.summary().failed()).isEqualTo(1);
        assertThat(e.summary().sent()).isZero();

        MockProducer<byte[], byte[]> ok = mock(true);
        List<LabelledImage> two = images(2);
        Iterator<LabelledImage> failing = new Iterator<>() {
            int i;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public LabelledImage next() {
                if (i < two.size()) {
                    return two.get(i++);
                }
                throw new java.io.UncheckedIOException(new java.io.IOException("disk gone"));
            }
        };
        PublishException e2 = catchThrowableOfType(PublishException.class,
                () -> new ImagePublisher(ok, TOPIC, 10, 10).publish("t", failing, -1, p -> { }));
        assertThat(e2.getCause()).isInstanceOf(java.io.UncheckedIOException.class);
        assertThat(e2.summary().sent()).isEqualTo(2);
        assertThat(ok.history()).hasSize(2);
        assertThat(ok.flushed()).isTrue();
    }

    @Test
    void rejectsBadArguments() {
        assertThat(catchThrowableOfType(IllegalArgumentException.class,
                () -> new ImagePublisher(mock(true), TOPIC, 60, 40))).hasMessageContaining("validation% + test%");
        ImagePublisher pub = new ImagePublisher(mock(true), TOPIC, 10, 10);
        assertThat(catchThrowableOfType(IllegalArgumentException.class, () -> pub.publish(" ", source(images(1)))))
                .hasMessageContaining("task");
        assertThat(catchThrowableOfType(NoSuchElementException.class, () -> source(List.of()).next())).isNotNull();
    }
}
