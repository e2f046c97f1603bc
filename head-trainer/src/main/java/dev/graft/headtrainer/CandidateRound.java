package dev.graft.headtrainer;

import dev.graft.common.contract.BaseRef;
import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.contract.Split;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * One training round over a task's candidate bases (several cuts of one network, a fine-tuned base next
 * to its parent): a head per base, trained on that base's vectors of the same labelled images and scored on
 * its validation rows; the best validation accuracy wins (ties: lower validation loss, then the preferred
 * base, normally the one the task's latest version used, then the order given). Pure computation.
 */
final class CandidateRound {

    /**
     * A base takes part in a round only once its store holds at least this share of the largest store's train
     * and validation rows, so candidates are scored on (nearly) the same images: a base still being
     * re-featurized waits for a later round.
     */
    static final double MIN_COVERAGE = 0.9;

    /** A candidate: its base, its vectors and the head to warm-start from (the last one trained on it). */
    record Entry(BaseRef base, VectorStore store, Optional<TrainedHead> warmStart) {
        Entry {
            Objects.requireNonNull(base, "base");
            Objects.requireNonNull(store, "store");
            Objects.requireNonNull(warmStart, "warmStart");
        }
    }

    /** What one candidate's head scored. */
    record Outcome(BaseRef base, VectorStore store, TrainedHead head, Evaluator.Result validation) {
        double accuracy() {
            return Double.isNaN(validation.accuracy()) ? Double.NEGATIVE_INFINITY : validation.accuracy();
        }

        double loss() {
            return Double.isNaN(validation.meanLoss()) ? Double.POSITIVE_INFINITY : validation.meanLoss();
        }
    }

    /** @param outcomes every candidate's, in the order given */
    record Result(Outcome winner, List<Outcome> outcomes) {
        /** For {@link ModelUpdateEvent.Lineage#candidates()}: null for a round with one candidate. */
        Map<String, ModelUpdateEvent.Candidate> candidates() {
            if (outcomes.size() < 2) {
                return null;
            }
            Map<String, ModelUpdateEvent.Candidate> m = new LinkedHashMap<>();
            for (Outcome o : outcomes) {
                m.put(o.base().id(), new ModelUpdateEvent.Candidate(o.base().cut(), o.base().spec(),
                        o.validation().accuracy(), o.validation().count()));
            }
            return m;
        }
    }

    private CandidateRound() {}

    /**
     * The stores that can train now: at least {@code minLabels} labels and {@code minTrainCount} train rows,
     * and {@link #MIN_COVERAGE} of the largest store's train and validation rows.
     */
    static <T> List<T> eligible(Collection<T> candidates, java.util.function.Function<T, VectorStore> storeOf,
                                int minLabels, int minTrainCount) {
        int maxTrain = 0;
        int maxValidation = 0;
        for (T c : candidates) {
            maxTrain = Math.max(maxTrain, storeOf.apply(c).size(Split.TRAIN));
            maxValidation = Math.max(maxValidation, storeOf.apply(c).size(Split.VALIDATION));
        }
        List<T> out = new ArrayList<>();
        for (T c : candidates) {
            VectorStore s = storeOf.apply(c);
            int train = s.size(Split.TRAIN);
            if (s.labels().size() >= minLabels && train >= minTrainCount && train >= MIN_COVERAGE * maxTrain
                    && s.size(Split.VALIDATION) >= MIN_COVERAGE * maxValidation) {
                out.add(c);
            }
        }
        return out;
    }

    /** Trains and scores every entry (in order, one at a time) and picks the winner. */
    static Result run(HeadTrainer trainer, HeadConfig config, List<Entry> entries, String preferredBaseId) {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("no candidate bases");
        }
        List<Outcome> outcomes = new ArrayList<>();
        for (Entry e : entries) {
            TrainedHead head = trainer.train(config, e.store(), e.warmStart());
            outcomes.add(new Outcome(e.base(), e.store(), head, Evaluator.evaluate(head, e.store().validation())));
        }
        Comparator<Outcome> better = Comparator.comparingDouble(Outcome::accuracy)
                .thenComparing(Comparator.comparingDouble(Outcome::loss).reversed())
                .thenComparing(o -> o.base().id().equals(preferredBaseId));
        Outcome winner = outcomes.get(0);
        for (Outcome o : outcomes.subList(1, outcomes.size())) {
            if (better.compare(o, winner) > 0) {
                winner = o;
            }
        }
        return new Result(winner, List.copyOf(outcomes));
    }
}
