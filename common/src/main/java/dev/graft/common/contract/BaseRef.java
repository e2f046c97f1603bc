package dev.graft.common.contract;

/**
 * Identity of a frozen base network as far as features and heads are concerned.
 *
 * @param id content hash of weights + cut point + input size + preprocessing; features of different
 *           ids never mix
 * @param spec how to load it again, e.g. {@code nsfwjs:mobilenet_v2}
 * @param cut the layer whose output, averaged over space, is the feature vector
 * @param inputSize square input resolution in pixels
 * @param featureDim length of the feature vector
 * @param preprocessing name of the pixel normalisation, e.g. {@code unit} (x/255)
 */
public record BaseRef(String id, String spec, String cut, int inputSize, int featureDim, String preprocessing) {}
