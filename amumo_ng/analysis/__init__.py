"""Pure analysis functions on embedding arrays (numpy/torch in, arrays or dataclasses out).

Public names of every analysis module are available here, imported lazily on first use so that
``import amumo_ng.analysis`` loads no scipy/sklearn/torch/umap:

- similarity: cosine matrices, stacked-matrix tiles and block-mean levels of detail
- gap: modality gap, closing and shifting it, loss-vs-shift curve
- difference: in-modal difference (CyCLIP symmetry)
- ordering: cluster orderings (in-modal) and cluster labels
- cross_modal_ordering: orderings of the rows of a cross-modal similarity block (image-text)
- projection: PCA/UMAP/t-SNE projections, cache, background jobs
- filter: caption search
- geometry: per-modality raw geometry (double ellipsoid, ‖m‖/‖σ‖, thin shell, sample norms, whitening)
- separability: Sep per feature (image vs text) and the linear SVM on the two most separating features
- feature_correlation: off-diagonal dominance (ODD) of each modality's covariance
- conformity_stats: exact conformity in O(n·d), its estimate from the mean, KL of the modalities'
  conformity distributions vs the mean shift α, mean conformity of several sets
- outliers: pairs ranked by low pair cosine, low/high conformity, image−text conformity difference;
  precision at k against labelled anomalies
- mean_shift: CLIP loss (alignment, uniformity; correct, misclassified) vs the image mean shift α
- interpolation: lerp / slerp / slerp_with_norm / vslerp (Levi & Gilboa's vertical SLERP)
- losses, retrieval: contrastive losses and top-k retrieval accuracy
- transform_robustness: curves of augmented sets (cosine to the original, to the caption, caption rank)
- rotation_sets: anti-diagonal and 90° checkerboard statistics of a rotation set
- layout_agreement: share of pairs whose image and text share a cluster of a 2-D layout, against chance
- reduction (+ reduction_methods, neural_mds): D′ < D that keeps retrieval (PCA, SVD, random projection,
  contrastive linear map, neural MDS isometric / isotonic), sweeps over D′, reduced vectors as a model
- clustering, dec: k-means / agglomerative / HDBSCAN / DEC, ARI / NMI / silhouette, cluster names
- attribute_directions: mean-difference and probe directions of a meta column, their cosines, interventions
- validation: input checks and :class:`EmbeddingError`
- backend: where the large array work runs (numpy; torch on CUDA when present, never required)
"""
from __future__ import annotations

from ..lazy import lazy_exports

_NAMES = {
    "validation": ("EmbeddingError", "as_matrix", "as_pair", "pair_shape", "l2_normalize"),
    "backend": ("array_device", "AUTO_MIN_ELEMENTS"),
    "similarity": ("cosine_similarity", "similarity_blocks", "SimilarityBlocks", "similarity_tile",
                   "block_mean_similarity", "level_of_detail_tile", "LevelOfDetail"),
    "gap": ("modality_gap", "ModalityGap", "close_gap", "shift_gap", "gap_loss_curve", "GapCurve",
            "DEFAULT_DELTAS"),
    "difference": ("in_modal_difference", "InModalDifference"),
    "ordering": ("cluster_order", "Ordering", "cluster_labels", "order_stacked", "LEAF_ORDERS"),
    "cross_modal_ordering": ("cross_modal_order",),
    "projection": ("project", "Projection", "ProjectionJob", "project_async", "Cancelled",
                   "unique_rows", "warm_up_umap"),
    "filter": ("filter_captions", "FilterError"),
    "geometry": ("modality_geometry", "ModalityGeometry", "double_ellipsoid", "DoubleEllipsoid",
                 "sample_norms", "SampleNorms", "whiten", "Whitening"),
    "separability": ("feature_separability", "FeatureSeparability", "separating_svm", "SeparatingLine"),
    "feature_correlation": ("off_diagonal_dominance", "modality_correlations", "FeatureCorrelation"),
    "conformity_stats": ("conformity", "conformity_to", "estimated_conformity", "ConformityEstimate",
                         "histogram_kl", "conformity_kl_curve", "ConformityKL", "mean_conformity",
                         "grouped_conformity", "SetConformity"),
    "outliers": ("OUTLIER_RANKINGS", "OutlierRanking", "pair_statistics", "outlier_scores", "rank_outliers",
                 "rank_statistics", "precision_at_k", "best_precision_at_k", "anomaly_precision"),
    "mean_shift": ("mean_shift_loss", "MeanShiftCurve", "shift_modality", "DEFAULT_ALPHAS"),
    "interpolation": ("lerp", "slerp", "slerp_with_norm", "vslerp"),
    "interpolation_paths": ("interpolation_path", "InterpolationPath", "Path", "PathEndpoints", "path_endpoints",
                           "modality_mean", "PATH_METHODS"),
    "losses": ("clip_loss", "cyclip_loss", "hopfield_retrieval", "info_loob", "cloob_loss",
               "contrastive_loss", "contrastive_terms", "ContrastiveTerms"),
    "retrieval": ("topk_accuracy",),
    "transform_robustness": ("robustness_curves", "RobustnessCurves", "robustness", "Robustness", "ModelRobustness",
                   "CurveSummary", "summarize", "first_crossing", "resolve_encoder"),
    "rotation_sets": ("rotation_structure", "RotationStructure", "circular_profile"),
    "layout_agreement": ("same_cluster_share", "pair_label_agreement", "cluster_layout", "PairAgreement"),
    "reduction": ("REDUCTION_METHODS", "fit_reduction", "split_pairs", "reduction_sweep", "ReductionSweep",
                  "reduced_embeddings", "default_dims"),
    "reduction_methods": ("LinearReduction", "fit_pca", "fit_svd", "fit_random_projection", "fit_contrastive_linear"),
    "neural_mds": ("NeuralMDSReduction", "fit_neural_mds", "isometric_stress", "isotonic_stress",
                   "isotonic_disparities"),
    "clustering": ("CLUSTER_METHODS", "CLUSTER_INPUTS", "Clustering", "ClusterQuality", "clustering_input",
                   "cluster_vectors", "clustering_quality", "cluster_names", "compare_clusterings"),
    "dec": ("fit_dec", "DECResult", "student_t_assignment", "target_distribution"),
    "attribute_directions": ("AttributeDirection", "attribute_direction", "column_directions",
                             "direction_cosines", "move_along", "intervention_effect"),
}

_MODULE_OF = {name: module for module, names in _NAMES.items() for name in names}


__getattr__, __dir__ = lazy_exports(__name__, _MODULE_OF, globals())

__all__ = sorted(_MODULE_OF)
