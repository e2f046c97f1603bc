package dev.graft.common.model;

import dev.graft.common.contract.ModelUpdateEvent;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The aliases of one task, replayed from its alias-set events in log order. Pure.
 *
 * <p>{@code serving} keeps a stack: {@code promoted} and {@code manual} push the version, {@code rollback}
 * pops the current one (so rolling back twice goes back two promotions, not back and forth).
 * {@link #rollbackTarget()} is the version under the top of that stack.
 */
public final class Aliases {
    private final Map<String, Integer> current = new LinkedHashMap<>();
    private final List<Integer> servingStack = new ArrayList<>();

    private Aliases() {}

    /** Replays the alias-set events among {@code events} (other types are ignored), in the order given. */
    public static Aliases replay(List<ModelUpdateEvent> events) {
        Aliases a = new Aliases();
        for (ModelUpdateEvent e : events) {
            if (e.setsAlias() && e.alias() != null) {
                a.apply(e);
            }
        }
        return a;
    }

    private void apply(ModelUpdateEvent e) {
        current.put(e.alias(), e.version());
        if (!ModelUpdateEvent.SERVING.equals(e.alias())) {
            return;
        }
        if (ModelUpdateEvent.REASON_ROLLBACK.equals(e.reason())) {
            if (!servingStack.isEmpty()) {
                servingStack.remove(servingStack.size() - 1);
            }
            if (servingStack.isEmpty() || servingStack.get(servingStack.size() - 1) != e.version()) {
                servingStack.add(e.version());
            }
        } else if (servingStack.isEmpty() || servingStack.get(servingStack.size() - 1) != e.version()) {
            servingStack.add(e.version());
        }
    }

    public OptionalInt get(String alias) {
        Integer v = current.get(alias);
        return v == null ? OptionalInt.empty() : OptionalInt.of(v);
    }

    public OptionalInt serving() {
        return get(ModelUpdateEvent.SERVING);
    }

    /** Alias name -> version, for every alias set so far. */
    public Map<String, Integer> all() {
        return Collections.unmodifiableMap(current);
    }

    /** Versions serving has been promoted to and not rolled back from, oldest first (the last one serves). */
    public List<Integer> servingHistory() {
        return List.copyOf(servingStack);
    }

    /** The version a rollback would make serving: the one serving before the current one. */
    public Optional<Integer> rollbackTarget() {
        return servingStack.size() < 2 ? Optional.empty() : Optional.of(servingStack.get(servingStack.size() - 2));
    }

    @Override
    public String toString() {
        return "Aliases" + current + " serving history " + servingStack;
    }
}
