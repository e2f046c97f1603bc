package dev.graft.finetune;

import dev.graft.common.base.BaseNetworks;
import dev.graft.common.contract.Topics;
import dev.graft.common.kafka.KafkaSettings;
import java.nio.file.Path;

/**
 * One fine-tune worker as its own OS process, for {@link FineTuneWorkerIT}: announces {@value #COMMIT_MARK} inside the
 * publishing transaction (artifact, event and offset sent) and holds the commit, so the test can kill -9 it there.
 *
 * <p>Arguments: bootstrap servers, retrain-requests topic, group id, worker id, bases dir.
 */
public final class FineTuneProcessMain {
    static final String COMMIT_MARK = "[GRAFT-FT-TXN] base version sent, commit pending";

    private FineTuneProcessMain() {}

    public static void main(String[] args) throws Exception {
        Topics d = Topics.defaults();
        Topics topics = new Topics(d.images(), d.features(), d.modelUpdates(), d.modelArtifacts(), args[1],
                d.deadLetters(), d.predictions());
        // a short session, so the killed member's partition moves to its successor within seconds
        KafkaSettings settings = KafkaSettings.of(args[0]).with("session.timeout.ms", "6000")
                .with("heartbeat.interval.ms", "1000");
        FineTuneWorker worker = FineTuneWorker.create(FineTuneWorkerOptions.defaults(topics, args[3], Path.of(args[4]),
                BaseNetworks.defaultCacheDir()).withGroupId(args[2]), settings);
        worker.beforeCommit(c -> {
            System.out.println(COMMIT_MARK);
            System.out.flush();
            try {
                Thread.sleep(600_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        System.out.println("[GRAFT-FT] " + args[3] + " running");
        System.out.flush();
        worker.run();
    }
}
