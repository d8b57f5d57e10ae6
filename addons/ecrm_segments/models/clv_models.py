"""Customer lifetime value models: BG/NBD and Gamma-Gamma, fitted by maximum likelihood.

Pure numpy/scipy functions, no Odoo import, so they can be tested and benchmarked alone.

References:
- P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), "Counting Your Customers the Easy Way:
  An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284 (BG/NBD).
- P. S. Fader, B. G. S. Hardie, K. L. Lee (2005), "RFM and CLV: Using Iso-Value Curves for
  Customer Base Analysis", Journal of Marketing Research 42(4), 415-430 (Gamma-Gamma spend).
- B. G. S. Hardie's notes "The Gamma-Gamma Model of Monetary Value" (2013).

Notation: for each customer ``x`` is the number of repeat purchases, ``t_x`` the time of the
last purchase and ``T`` the age of the customer, both measured from the first purchase.
"""

import numpy as np
from scipy import optimize, special


class FitError(ValueError):
    """The optimiser did not converge to a usable maximum."""


def _aggregate(*columns):
    """Collapse identical rows: returns the unique rows and how often each occurs.

    BG/NBD only depends on (x, t_x, T), so collapsing duplicates makes the likelihood
    cheaper to evaluate on large customer bases without changing its value.
    """
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def _minimize(objective, start):
    """Minimise ``objective`` (returning value and gradient) over log-parameters: L-BFGS-B
    with the analytic gradient, then Nelder-Mead from its end point if it reports a failure;
    None when neither reaches a finite optimum."""
    result = optimize.minimize(objective, start, method="L-BFGS-B", jac=True)
    if not result.success:
        simplex = optimize.minimize(
            lambda v: objective(v)[0],
            result.x,
            method="Nelder-Mead",
            options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-8},
        )
        if simplex.fun <= result.fun:
            result = simplex
    if not np.isfinite(result.fun) or result.fun >= 1e299:
        return None
    return result


def bgnbd_log_likelihood_terms(params, x, t_x, T):
    """Individual log-likelihoods of the BG/NBD model (FHL 2005, equation 6)."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    return a1 + a2 + np.logaddexp(a3, a4)


def bgnbd_log_likelihood_gradient(params, x, t_x, T, weights=None):
    """Gradient of the total BG/NBD log-likelihood with respect to (r, alpha, a, b)."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    weights = np.ones_like(x) if weights is None else weights
    repeat = x > 0
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.full_like(x, -np.inf)
    a4[repeat] = np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    total = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - total)  # share of the "still alive at T" branch
    w4 = np.exp(a4 - total)  # share of the "dropped out after t_x" branch
    safe_b = np.where(repeat, b + x - 1, 1.0)
    d_r = (
        special.digamma(r + x) - special.digamma(r) + np.log(alpha) - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = special.digamma(a + b) - special.digamma(a + b + x) + w4 / a
    d_b = (
        special.digamma(a + b)
        + special.digamma(b + x)
        - special.digamma(b)
        - special.digamma(a + b + x)
        - np.where(repeat, w4 / safe_b, 0.0)
    )
    return np.array([np.sum(weights * d) for d in (d_r, d_alpha, d_a, d_b)])


def bgnbd_log_likelihood(params, x, t_x, T, weights=None):
    """Total log-likelihood of the BG/NBD model."""
    terms = bgnbd_log_likelihood_terms(params, x, t_x, T)
    return float(np.sum(terms if weights is None else terms * weights))


def fit_bgnbd(x, t_x, T, initial=(1.0, 1.0, 1.0, 1.0)):
    """Maximum-likelihood fit of the BG/NBD model.

    The optimiser works on the logarithms of the four parameters (they must be positive),
    starting from ``initial`` with the time scale of ``alpha`` set to the mean customer age
    so the start point suits days as well as weeks.

    :return: dict with r, alpha, a, b, log_likelihood, n (customers)
    :raise FitError: when the optimiser fails
    """
    (ux, ut, uT), weights = _aggregate(x, t_x, T)
    start = np.array(initial, dtype=float)
    start[1] = max(float(np.mean(T)) / 4.0, 1e-3)

    def objective(log_params):
        params = np.exp(log_params)
        value = -bgnbd_log_likelihood(params, ux, ut, uT, weights)
        if not np.isfinite(value):
            return 1e300, np.zeros(4)
        # chain rule: d/d(log p) = p * d/dp
        return value, -params * bgnbd_log_likelihood_gradient(params, ux, ut, uT, weights)

    result = _minimize(objective, np.log(start))
    if result is None:
        raise FitError("BG/NBD likelihood could not be maximised")
    r, alpha, a, b = np.exp(result.x)
    return {
        "r": r,
        "alpha": alpha,
        "a": a,
        "b": b,
        "log_likelihood": -float(result.fun),
        "n": len(x),
    }


def bgnbd_probability_alive(params, x, t_x, T):
    """P(alive | x, t_x, T) (FHL 2005, equation 11); 1 for customers without repeat purchase."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    result = np.ones_like(x)
    repeat = x > 0
    xr = x[repeat]
    log_ratio = np.log(a) - np.log(b + xr - 1) + (r + xr) * (np.log(alpha + T[repeat]) - np.log(alpha + t_x[repeat]))
    result[repeat] = 1.0 / (1.0 + np.exp(log_ratio))
    return result


def bgnbd_expected_purchases(params, t, x, t_x, T):
    """Expected number of purchases in the next ``t`` time units (FHL 2005, equation 10)."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    numerator = (a + b + x - 1) / (a - 1) * (1 - np.power((alpha + T) / (alpha + T + t), r + x) * hyp)
    repeat = (x > 0).astype(float)
    safe_b = np.where(x > 0, b + x - 1, 1.0)
    denominator = 1 + repeat * (a / safe_b) * np.power((alpha + T) / (alpha + t_x), r + x)
    return numerator / denominator


def gamma_gamma_log_likelihood_gradient(params, x, zbar, weights=None):
    """Gradient of the total Gamma-Gamma log-likelihood with respect to (p, q, gamma)."""
    p, q, gamma = params
    x = np.asarray(x, dtype=float)
    zbar = np.asarray(zbar, dtype=float)
    weights = np.ones_like(x) if weights is None else weights
    px = p * x
    log_total = np.log(gamma + x * zbar)
    d_p = x * (special.digamma(px + q) - special.digamma(px) + np.log(zbar) + np.log(x) - log_total)
    d_q = special.digamma(px + q) - special.digamma(q) + np.log(gamma) - log_total
    d_gamma = q / gamma - (px + q) / (gamma + x * zbar)
    return np.array([np.sum(weights * d) for d in (d_p, d_q, d_gamma)])


def gamma_gamma_log_likelihood(params, x, zbar, weights=None):
    """Log-likelihood of the Gamma-Gamma spend model for customers with x >= 1 purchases
    whose average spend is ``zbar``."""
    p, q, gamma = params
    x = np.asarray(x, dtype=float)
    zbar = np.asarray(zbar, dtype=float)
    px = p * x
    terms = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(zbar)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * zbar)
    )
    return float(np.sum(terms if weights is None else terms * weights))


def fit_gamma_gamma(x, zbar, initial=(1.0, 1.0, 1.0)):
    """Maximum-likelihood fit of the Gamma-Gamma model (customers with x >= 1, zbar > 0).

    :return: dict with p, q, gamma, log_likelihood, n
    :raise FitError: when the optimiser fails
    """
    x = np.asarray(x, dtype=float)
    zbar = np.asarray(zbar, dtype=float)
    keep = (x > 0) & (zbar > 0)
    (ux, uz), weights = _aggregate(x[keep], zbar[keep])
    start = np.array(initial, dtype=float)
    start[2] = max(float(np.mean(zbar[keep])), 1e-3) if keep.any() else 1.0

    def objective(log_params):
        params = np.exp(log_params)
        value = -gamma_gamma_log_likelihood(params, ux, uz, weights)
        if not np.isfinite(value):
            return 1e300, np.zeros(3)
        return value, -params * gamma_gamma_log_likelihood_gradient(params, ux, uz, weights)

    result = _minimize(objective, np.log(start))
    if result is None:
        raise FitError("Gamma-Gamma likelihood could not be maximised")
    p, q, gamma = np.exp(result.x)
    return {
        "p": p,
        "q": q,
        "gamma": gamma,
        "log_likelihood": -float(result.fun),
        "n": int(keep.sum()),
    }


def gamma_gamma_expected_spend(params, x, zbar):
    """E[M | x, zbar]: the expected average spend per purchase; needs q > 1.

    Customers without repeat purchase get the population mean p * gamma / (q - 1).
    """
    p, q, gamma = params
    x = np.asarray(x, dtype=float)
    zbar = np.asarray(zbar, dtype=float)
    population_mean = p * gamma / (q - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        individual = p * (gamma + x * zbar) / (p * x + q - 1)
    return np.where(x > 0, individual, population_mean)
