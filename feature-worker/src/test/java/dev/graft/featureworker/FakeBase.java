package dev.graft.featureworker;

import dev.graft.common.base.BaseNetwork;
import dev.graft.common.contract.BaseRef;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A stand-in base for tests without the pretrained network: cut "mean" gives each image's mean per channel, cut
 * "max" (with two cuts) its maximum per channel. An optional gate holds every forward pass (or every one from the
 * k-th on) until it opens; an optional delay makes each pass take a while.
 */
class FakeBase implements BaseNetwork {
    private final List<BaseRef> refs = new ArrayList<>();
    private volatile CountDownLatch gate = new CountDownLatch(0);
    private final CountDownLatch entered = new CountDownLatch(1);
    /** Passes with this index (0-based) or later wait for the gate. */
    private volatile int holdFrom = 0;
    private volatile long delayMillis;
    /** Forward passes run so far, and the batch size of the first. */
    final java.util.concurrent.atomic.AtomicInteger passes = new java.util.concurrent.atomic.AtomicInteger();
    volatile long firstPassImages = -1;
    /** The nice value of the thread that ran the last forward pass (Linux; else stays MIN_VALUE). */
    volatile int passNice = Integer.MIN_VALUE;
    /** The scheduling policy of that thread (Linux; else stays MIN_VALUE). */
    volatile int passPolicy = Integer.MIN_VALUE;

    FakeBase(int inputSize) {
        this(inputSize, 1);
    }

    FakeBase(int inputSize, int cuts) {
        refs.add(new BaseRef("fake-" + inputSize, "fake:mean", "mean", inputSize, 3, "none"));
        if (cuts > 1) refs.add(new BaseRef("fake-max-" + inputSize, "fake:mean", "max", inputSize, 3, "none"));
    }

    /** Holds forward passes until {@link #open()}. */
    FakeBase gated() {
        return holdFrom(0);
    }

    /** Holds the forward passes from the {@code pass}-th (0-based) on until {@link #open()}. */
    FakeBase holdFrom(int pass) {
        holdFrom = pass;
        gate = new CountDownLatch(1);
        return this;
    }

    /** Each forward pass takes at least {@code millis}. */
    FakeBase slow(long millis) {
        delayMillis = millis;
        return this;
    }

    void open() {
        gate.countDown();
    }

    /** Waits until a forward pass has started. */
    boolean awaitForwardPass() throws InterruptedException {
        return entered.await(30, TimeUnit.SECONDS);
    }

    @Override
    public BaseRef ref() {
        return refs.get(0);
    }

    @Override
    public List<BaseRef> refs() {
        return refs;
    }

    @Override
    public INDArray extract(INDArray rgb255) {
        return extractAll(rgb255).get(0);
    }

    @Override
    public List<INDArray> extractAll(INDArray rgb255) {
        int pass = passes.getAndIncrement();
        if (pass == 0) firstPassImages = rgb255.size(0);
        passNice = niceOfThisThread();
        passPolicy = policyOfThisThread();
        entered.countDown();
        try {
            if (pass >= holdFrom) gate.await();
            if (delayMillis > 0) Thread.sleep(delayMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
        return refs.size() == 1 ? List.of(rgb255.mean(1, 2)) : List.of(rgb255.mean(1, 2), rgb255.max(1, 2));
    }

    static int niceOfThisThread() {
        return ofThisThread(dev.graft.common.os.ThreadNice::niceOf);
    }

    static int policyOfThisThread() {
        return ofThisThread(dev.graft.common.os.ThreadNice::policyOf);
    }

    interface TidReader {
        int read(int tid) throws java.io.IOException;
    }

    /** What {@code reader} says of the calling thread (Linux; else MIN_VALUE). */
    private static int ofThisThread(TidReader reader) {
        if (!dev.graft.common.os.ThreadNice.supported()) return Integer.MIN_VALUE;
        try {
            return reader.read(dev.graft.common.os.ThreadNice.currentTid());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public void close() {}
}
