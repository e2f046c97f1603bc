package dev.graft.finetune;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FreezePointTest {
    static final List<String> ORDER = List.of("Conv1", "bn_Conv1", "expanded_conv_project", "block_1_expand",
            "block_1_project_BN", "block_2_expand", "block_2_project_BN", "block_2_add", "block_3_expand",
            "block_3_project_BN");

    @Test
    void lastNBlocksStartsAtTheFirstLayerOfTheNthHighestBlock() {
        assertThat(FreezePoint.resolve(ORDER, "last 1 block").firstTrainable()).isEqualTo("block_3_expand");
        FreezePoint two = FreezePoint.resolve(ORDER, " Last 2 Blocks ");
        assertThat(two.firstTrainable()).isEqualTo("block_2_expand");
        assertThat(two.frozen(ORDER)).containsExactly("Conv1", "bn_Conv1", "expanded_conv_project",
                "block_1_expand", "block_1_project_BN");
    }

    @Test
    void layerNameIsItsOwnFreezePoint() {
        FreezePoint p = FreezePoint.resolve(ORDER, "block_2_add");
        assertThat(p.firstTrainable()).isEqualTo("block_2_add");
        assertThat(p.index()).isEqualTo(7);
    }

    @ParameterizedTest
    @ValueSource(strings = {"block_99_expand", "out_relu", "last two blocks"})
    void unknownLayerIsRejectedNamingWhatIsAccepted(String bad) {
        assertThatThrownBy(() -> FreezePoint.resolve(ORDER, bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown layer '" + bad + "'").hasMessageContaining("last N blocks");
    }

    @ParameterizedTest
    @ValueSource(strings = {"last 0 blocks", "last 4 blocks"})
    void blockCountOutsideTheBaseIsRejected(String bad) {
        assertThatThrownBy(() -> FreezePoint.resolve(ORDER, bad)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has 3 blocks").hasMessageContaining("N must be 1..3");
    }

    @Test
    void blocksOnANetworkWithoutBlockNamesAreRejected() {
        assertThatThrownBy(() -> FreezePoint.resolve(List.of("conv", "fc"), "last 1 block"))
                .hasMessageContaining("no block_K_* layers");
        assertThatThrownBy(() -> FreezePoint.resolve(ORDER, " ")).hasMessageContaining("empty");
    }

    @Test
    void augmentationListIsParsedAndUnknownNamesRejected() {
        assertThat(Augmentation.parse("flip, crop")).isEqualTo(new Augmentation(true, true));
        assertThat(Augmentation.parse("")).isEqualTo(Augmentation.NONE);
        assertThatThrownBy(() -> Augmentation.parse("flip,rotate")).hasMessageContaining("unknown augmentation 'rotate'");
    }
}
