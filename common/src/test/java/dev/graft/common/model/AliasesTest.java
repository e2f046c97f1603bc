package dev.graft.common.model;

import static dev.graft.common.contract.ModelUpdateEvent.LATEST;
import static dev.graft.common.contract.ModelUpdateEvent.REASON_MANUAL;
import static dev.graft.common.contract.ModelUpdateEvent.REASON_PROMOTED;
import static dev.graft.common.contract.ModelUpdateEvent.REASON_PUBLISHED;
import static dev.graft.common.contract.ModelUpdateEvent.REASON_ROLLBACK;
import static dev.graft.common.contract.ModelUpdateEvent.SERVING;
import static org.assertj.core.api.Assertions.assertThat;

import dev.graft.common.contract.ModelUpdateEvent;
import dev.graft.common.json.Json;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AliasesTest {
    private final List<ModelUpdateEvent> log = new ArrayList<>();

    private Aliases set(String alias, int v, String reason) {
        log.add(ModelUpdateEvent.aliasSet("t", alias, v, reason, Instant.EPOCH));
        return Aliases.replay(log);
    }

    @Test
    void emptyHasNoAliases() {
        Aliases a = Aliases.replay(List.of());
        assertThat(a.serving()).isEmpty();
        assertThat(a.rollbackTarget()).isEmpty();
    }

    @Test
    void rollbackWalksBackThroughPromotionsNotBackAndForth() {
        set(LATEST, 1, REASON_PUBLISHED);
        set(SERVING, 1, REASON_PROMOTED);
        set(SERVING, 2, REASON_PROMOTED);
        Aliases a = set(SERVING, 3, REASON_MANUAL);
        assertThat(a.serving()).hasValue(3);
        assertThat(a.get(LATEST)).hasValue(1);
        assertThat(a.rollbackTarget()).contains(2);
        a = set(SERVING, 2, REASON_ROLLBACK);
        assertThat(a.serving()).hasValue(2);
        assertThat(a.rollbackTarget()).contains(1);
        a = set(SERVING, 1, REASON_ROLLBACK);
        assertThat(a.servingHistory()).containsExactly(1);
        assertThat(a.rollbackTarget()).isEmpty();
        a = set(SERVING, 4, REASON_PROMOTED);
        assertThat(a.servingHistory()).containsExactly(1, 4);
        assertThat(a.rollbackTarget()).contains(1);
    }

    @Test
    void promotingTheServingVersionAgainIsNoNewStep() {
        set(SERVING, 1, REASON_PROMOTED);
        set(SERVING, 2, REASON_PROMOTED);
        Aliases a = set(SERVING, 2, REASON_MANUAL);
        assertThat(a.servingHistory()).containsExactly(1, 2);
    }

    @Test
    void aliasEventJsonHasNoVersionFieldsAndVersionEventsNoAliasFields() {
        ModelUpdateEvent e = ModelUpdateEvent.aliasSet("t", SERVING, 3, REASON_ROLLBACK, Instant.parse("2025-05-01T12:00:00Z"));
        String json = new String(Json.toBytes(e), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(json).contains("\"type\":\"alias-set\"", "\"alias\":\"serving\"", "\"reason\":\"rollback\"", "\"version\":3");
        ModelUpdateEvent back = Json.fromBytes(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), ModelUpdateEvent.class);
        assertThat(back.setsAlias()).isTrue();
        assertThat(back.alias()).isEqualTo(SERVING);
        ModelUpdateEvent v = new ModelUpdateEvent(ModelUpdateEvent.VERSION_PUBLISHED, "t", 1, Instant.EPOCH, null,
                List.of("a"), null, null, null);
        assertThat(new String(Json.toBytes(v), java.nio.charset.StandardCharsets.UTF_8)).doesNotContain("alias", "reason");
    }
}
