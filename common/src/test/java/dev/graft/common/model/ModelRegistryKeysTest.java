package dev.graft.common.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.ModelUpdateEvent;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ModelRegistryKeysTest {

    @Test
    void baseVersionsAndHeadVersionsGetDistinctArtifactKeys() {
        ModelUpdateEvent head = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, "t", 2, Instant.EPOCH,
                null, null, null, null, null);
        ModelUpdateEvent base = new ModelUpdateEvent(ModelUpdateEvent.BASE_PUBLISHED, "t", 2, Instant.EPOCH,
                null, null, null, null, null);
        assertThat(ModelRegistry.artifactKey(head)).isEqualTo("t/v2");
        assertThat(ModelRegistry.artifactKey(base)).isEqualTo("t/b2");
        assertThat(base.publishesVersion()).as("head-version readers skip base events").isFalse();
        assertThat(ModelRegistry.versionsOf(java.util.List.of(head, base))).containsExactly(head);
    }

    @Test
    void retrainRejectedEventNamesTheRequestAndTheReason() {
        ModelUpdateEvent e = ModelUpdateEvent.retrainRejected("t", "r-1", "unknown layer 'x'", Instant.EPOCH);
        assertThat(e.rejectsRetrain()).isTrue();
        assertThat(e.lineage().hyperParameters()).containsEntry("requestId", "r-1");
        assertThat(e.reason()).isEqualTo("unknown layer 'x'");
    }
}
