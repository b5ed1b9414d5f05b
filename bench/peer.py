"""Trains and times one peer learner on one prepared case; run by compare.py.

Each peer runs in a process of its own so that the peak resident memory
that GNU time reports for it belongs to that tool alone. Only the fit (from
in-memory arrays to a model, quantile binning included, as in our engine's
train_seconds) and the predictions are timed; loading the .npz is not.

Usage: /usr/bin/python3 bench/peer.py TOOL CASE.npz PRED_OUT.npy [options]
  TOOL: xgboost | xgboost-unweighted | sklearn-hgb (run by compare.py)
        sklearn-rf | sklearn-et (RandomForest / ExtraTreesClassifier, run by
        forest.py)
        sklearn-stack | sklearn-vote (StackingClassifier / soft
        VotingClassifier over XGBoost, RandomForest and ExtraTrees, the
        peers of `healer train --algo stack`; run by learners.py)
Prints one JSON object on stdout; writes the predicted class indices of the
case's test rows to PRED_OUT.npy (scored by the parent, like every tool).

Hyper-parameters mirror the engine's: depth counts edges in all three tools
(root = depth 0), so max_depth is passed through unchanged. The weighted
variants use "balanced" sample weights, the engine's default class weighting.
The forests use class_weight="balanced" (weights from the whole training
set, as the engine computes them) and unlimited depth; scikit-learn 1.2's
trees take no NaN, so a missing cell is filled with a constant per KPI
below every value seen in training (min - max(1, |min|)): missing values
then sort first, as a fixed "missing goes left" rule, a choice the engine
makes per node instead. The fill is inside the timed fit and predict.

The stack's peers mirror healer's default stack (members gbdt, forest,
extratrees; --member-trees trees per forest; --stack-folds out-of-fold
folds): XGBoost as above, RandomForest (sqrt) and ExtraTrees (every KPI,
healer's extratrees default), each on balanced sample weights; the
StackingClassifier's multinomial logistic regression learns from the
members' out-of-fold log-probabilities (as healer's meta-learner does;
it is pulled towards 0 by sklearn's default C=1, healer's towards the
equal vote), weighted alike. The soft vote averages the members'
probabilities.
"""

import argparse
import json
import sys
import time

import numpy as np

TOOLS = ("xgboost", "xgboost-unweighted", "sklearn-hgb", "sklearn-rf", "sklearn-et",
         "sklearn-stack", "sklearn-vote")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("tool", choices=TOOLS)
    p.add_argument("case")
    p.add_argument("pred_out")
    p.add_argument("--rounds", type=int, default=300)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--max-depth", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeats", type=int, default=5, help="best-of-N for predict-2000")
    p.add_argument("--trees", type=int, default=300, help="forests: trees")
    p.add_argument("--max-features", default="sqrt", choices=("sqrt", "log2", "all"),
                   help="forests: KPIs drawn per split")
    p.add_argument("--member-trees", type=int, default=50,
                   help="stack peers: trees per forest member")
    p.add_argument("--stack-folds", type=int, default=5,
                   help="stack peers: folds of the out-of-fold predictions")
    return p.parse_args(argv)


def balanced_weights(y):
    from sklearn.utils.class_weight import compute_sample_weight

    return compute_sample_weight("balanced", y)


def xgboost_params(args, n_classes):
    return {
        "tree_method": "hist", "objective": "multi:softprob", "num_class": n_classes,
        "max_depth": args.max_depth, "eta": args.lr, "max_bin": 256,
        "nthread": args.threads, "min_child_weight": 1, "lambda": 1,
        "seed": args.seed, "verbosity": 0,
    }


def fit_xgboost(args, x, y, n_classes, weighted):
    """Trains; returns the function mapping rows to class probabilities."""
    import xgboost as xgb

    weight = balanced_weights(y) if weighted else None
    dtrain = xgb.DMatrix(x, label=y, weight=weight, missing=np.nan, nthread=args.threads)
    booster = xgb.train(xgboost_params(args, n_classes), dtrain, num_boost_round=args.rounds)
    return booster.inplace_predict


def sklearn_params(args):
    return {
        "max_iter": args.rounds, "learning_rate": args.lr, "max_depth": args.max_depth,
        "max_leaf_nodes": None, "early_stopping": False, "l2_regularization": 1.0,
        "max_bins": 255, "random_state": args.seed,
    }


def fit_sklearn(args, x, y):
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(**sklearn_params(args))
    model.fit(x, y, sample_weight=balanced_weights(y))
    return model.predict_proba


def missing_fill(x):
    """Per KPI, a constant below every value of x: where the sklearn trees
    see a missing cell (they take no NaN)."""
    lo = np.nanmin(np.where(np.isnan(x), np.inf, x), axis=0)
    lo = np.where(np.isfinite(lo), lo, 0.0)
    return lo - np.maximum(1.0, np.abs(lo))


def forest_model(tool, trees, max_features, args, class_weight="balanced"):
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    cls = RandomForestClassifier if tool == "sklearn-rf" else ExtraTreesClassifier
    return cls(n_estimators=trees, max_features=1.0 if max_features == "all" else max_features,
               max_depth=None, min_samples_leaf=1, class_weight=class_weight,
               n_jobs=args.threads, random_state=args.seed)


def fit_forest(args, x, y):
    """RandomForest or ExtraTrees at the engine's forest settings."""
    fill = missing_fill(x)
    model = forest_model(args.tool, args.trees, args.max_features, args)
    model.fit(np.where(np.isnan(x), fill, x), y)
    return lambda rows: model.predict_proba(np.where(np.isnan(rows), fill, rows))


def stack_member_class():
    """A member of the stack peers: fills missing cells for the sklearn
    trees and shows its log-probabilities as decision_function, which the
    StackingClassifier then hands to its meta-learner."""
    from sklearn.base import BaseEstimator, ClassifierMixin, clone

    class Member(ClassifierMixin, BaseEstimator):
        def __init__(self, estimator=None, fill_missing=False):
            self.estimator = estimator
            self.fill_missing = fill_missing

        def _rows(self, x):
            return np.where(np.isnan(x), self.fill_, x) if self.fill_missing else x

        def fit(self, x, y, sample_weight=None):
            self.fill_ = missing_fill(x) if self.fill_missing else None
            self.model_ = clone(self.estimator).fit(self._rows(x), y,
                                                    sample_weight=sample_weight)
            self.classes_ = self.model_.classes_
            return self

        def predict_proba(self, x):
            return self.model_.predict_proba(self._rows(x))

        def decision_function(self, x):
            return np.log(np.clip(self.predict_proba(x), 1e-4, None))

        def predict(self, x):
            return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    return Member


def fit_stack(args, x, y, n_classes):
    """StackingClassifier (sklearn-stack) or soft VotingClassifier
    (sklearn-vote) over XGBoost, RandomForest and ExtraTrees."""
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    import xgboost as xgb

    Member = stack_member_class()
    booster = {k: v for k, v in xgboost_params(args, n_classes).items()
               if k not in ("objective", "num_class")}
    members = [
        ("xgboost", Member(xgb.XGBClassifier(n_estimators=args.rounds, **booster))),
        ("forest", Member(forest_model("sklearn-rf", args.member_trees, "sqrt", args, None),
                          fill_missing=True)),
        ("extratrees", Member(forest_model("sklearn-et", args.member_trees, "all", args, None),
                              fill_missing=True)),
    ]
    if args.tool == "sklearn-vote":
        model = VotingClassifier(members, voting="soft")
    else:
        folds = StratifiedKFold(args.stack_folds, shuffle=True, random_state=args.seed)
        model = StackingClassifier(members, final_estimator=LogisticRegression(max_iter=5000),
                                   cv=folds, stack_method="decision_function")
    model.fit(x, y, sample_weight=balanced_weights(y))
    return model.predict_proba


def fit(args, x, y, n_classes):
    if args.tool == "sklearn-hgb":
        return fit_sklearn(args, x, y)
    if args.tool in ("sklearn-rf", "sklearn-et"):
        return fit_forest(args, x, y)
    if args.tool in ("sklearn-stack", "sklearn-vote"):
        return fit_stack(args, x, y, n_classes)
    return fit_xgboost(args, x, y, n_classes, weighted=args.tool == "xgboost")


def library_version(tool):
    if tool.startswith("sklearn"):
        import sklearn

        return sklearn.__version__
    import xgboost

    return xgboost.__version__


def timed(fn, *a):
    start = time.perf_counter()
    result = fn(*a)
    return result, time.perf_counter() - start


def best_time(fn, x, repeats):
    return min(timed(fn, x)[1] for _ in range(repeats))


def main(argv):
    args = parse_args(argv)
    case = np.load(args.case)
    x_train, y_train = case["x_train"], case["y_train"]
    x_test, x_2000 = np.ascontiguousarray(case["x_test"]), np.ascontiguousarray(case["x_2000"])
    n_classes = len(case["classes"])
    predict_proba, fit_seconds = timed(fit, args, x_train, y_train, n_classes)
    proba, predict_test_seconds = timed(predict_proba, x_test)
    np.save(args.pred_out, np.argmax(proba, axis=1))
    report = {
        "tool": args.tool,
        "version": library_version(args.tool),
        "train_seconds": fit_seconds,
        "predict_test_seconds": predict_test_seconds,
        "predict_2000_seconds": best_time(predict_proba, x_2000, args.repeats),
        "rows_train": int(x_train.shape[0]),
        "rows_test": int(x_test.shape[0]),
        "rows_2000": int(x_2000.shape[0]),
    }
    json.dump(report, sys.stdout)
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
