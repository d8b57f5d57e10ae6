import csv
import math
from pathlib import Path

import numpy as np
from scipy import integrate, special

from odoo.tests import TransactionCase, tagged

from odoo.addons.ecrm_segments.models import clv_models

from .common import EcrmCase, EcrmOrdersMixin

DATA = Path(__file__).parent / "data" / "cdnow_customers_summary.csv"


def load_cdnow():
    """CDNOW sample summary (FHL 2005): x, t_x, T (weeks) and average repeat spend zbar."""
    with DATA.open() as handle:
        rows = list(csv.DictReader(handle))
    return (np.array([float(r[c]) for r in rows]) for c in ("x", "t_x", "T", "zbar"))


def likelihood_by_integration(params, x, t_x, T):
    """BG/NBD individual likelihood computed independently of the closed form.

    Given lambda and p, a customer with x repeat purchases, the last at t_x, observed
    until T has likelihood (1-p)^x lambda^x e^(-lambda T) + [x > 0] p (1-p)^(x-1) lambda^x
    e^(-lambda t_x) (FHL 2005, eq. 3). Integrate it over lambda ~ Gamma(r, alpha) and
    p ~ Beta(a, b) numerically.
    """
    r, alpha, a, b = params

    def integrand(p, lam):
        gamma_pdf = math.exp(r * math.log(alpha) + (r - 1) * math.log(lam) - alpha * lam - special.gammaln(r))
        beta_pdf = math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - special.betaln(a, b))
        value = (1 - p) ** x * lam**x * math.exp(-lam * T)
        if x > 0:
            value += p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x)
        return value * gamma_pdf * beta_pdf

    value, _error = integrate.dblquad(integrand, 0, np.inf, 0, 1, epsabs=1e-13, epsrel=1e-9)
    return value


def simulate_bgnbd(params, n, seed):
    """Draw customers from the BG/NBD story with known parameters."""
    r, alpha, a, b = params
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(20, 60, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    return x, t_x, T


@tagged("post_install", "-at_install", "ecrm")
class TestClvEstimator(TransactionCase):
    """The estimator against published figures and an independent computation."""

    def test_bgnbd_cdnow_published_fit(self):
        """FHL (2005), CDNOW sample of 2,357 customers: r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4."""
        x, t_x, T, _zbar = load_cdnow()
        self.assertEqual(len(x), 2357)
        fit = clv_models.fit_bgnbd(x, t_x, T)
        self.assertAlmostEqual(fit["r"], 0.243, delta=0.001)
        self.assertAlmostEqual(fit["alpha"], 4.414, delta=0.005)
        self.assertAlmostEqual(fit["a"], 0.793, delta=0.001)
        self.assertAlmostEqual(fit["b"], 2.426, delta=0.005)
        self.assertAlmostEqual(fit["log_likelihood"], -9582.4, delta=0.1)

    def test_gamma_gamma_cdnow_published_fit(self):
        """Fader, Hardie & Lee (2005), 946 CDNOW repeat customers: p=6.25, q=3.74, gamma=15.44."""
        x, _t_x, _T, zbar = load_cdnow()
        repeat = x > 0
        self.assertEqual(int(repeat.sum()), 946)
        fit = clv_models.fit_gamma_gamma(x[repeat], zbar[repeat])
        self.assertAlmostEqual(fit["p"], 6.25, delta=0.01)
        self.assertAlmostEqual(fit["q"], 3.74, delta=0.01)
        self.assertAlmostEqual(fit["gamma"], 15.44, delta=0.05)
        spend = clv_models.gamma_gamma_expected_spend((fit["p"], fit["q"], fit["gamma"]), x[repeat], zbar[repeat])
        # the posterior mean lies between the customer's own average and the population mean
        population = fit["p"] * fit["gamma"] / (fit["q"] - 1)
        low, high = (
            np.minimum(zbar[repeat], population),
            np.maximum(zbar[repeat], population),
        )
        self.assertTrue(np.all((spend >= low - 1e-9) & (spend <= high + 1e-9)))

    def test_likelihood_matches_numerical_integration(self):
        params = (0.243, 4.414, 0.793, 2.426)
        for x, t_x, T in [
            (0, 0.0, 38.86),
            (2, 30.43, 38.86),
            (1, 1.71, 38.86),
            (7, 29.43, 38.86),
            (4, 26.57, 27.0),
        ]:
            closed = math.exp(clv_models.bgnbd_log_likelihood_terms(params, [x], [t_x], [T])[0])
            numeric = likelihood_by_integration(params, x, t_x, T)
            self.assertAlmostEqual(closed / numeric, 1.0, delta=1e-5, msg=f"x={x} t_x={t_x} T={T}")

    def test_probability_alive_matches_bayes_rule(self):
        """P(alive) = P(data and alive) / P(data), both integrated numerically."""
        r, alpha, a, b = params = (0.243, 4.414, 0.793, 2.426)
        x, t_x, T = 2, 30.43, 38.86

        def alive_part(p, lam):
            gamma_pdf = math.exp(r * math.log(alpha) + (r - 1) * math.log(lam) - alpha * lam - special.gammaln(r))
            beta_pdf = math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - special.betaln(a, b))
            return (1 - p) ** x * lam**x * math.exp(-lam * T) * gamma_pdf * beta_pdf

        alive, _ = integrate.dblquad(alive_part, 0, np.inf, 0, 1, epsabs=1e-13, epsrel=1e-9)
        expected = alive / likelihood_by_integration(params, x, t_x, T)
        self.assertAlmostEqual(
            clv_models.bgnbd_probability_alive(params, [x], [t_x], [T])[0],
            expected,
            places=5,
        )

    def test_fit_recovers_simulated_parameters(self):
        truth = (0.6, 8.0, 0.9, 3.0)
        x, t_x, T = simulate_bgnbd(truth, 10000, seed=3)
        fit = clv_models.fit_bgnbd(x, t_x, T)
        estimate = (fit["r"], fit["alpha"], fit["a"], fit["b"])
        for name, true, est in zip(("r", "alpha", "a", "b"), truth, estimate, strict=True):
            self.assertLess(abs(est - true) / true, 0.15, f"{name}: {est} vs {true}")
        # the expected purchases of the fitted model match what the simulation's own model predicts
        predicted = clv_models.bgnbd_expected_purchases(estimate, 10.0, x, t_x, T).mean()
        reference = clv_models.bgnbd_expected_purchases(truth, 10.0, x, t_x, T).mean()
        self.assertAlmostEqual(predicted / reference, 1.0, delta=0.1)

    def test_expected_purchases_new_customer(self):
        """For x=0, t_x=0 the conditional expectation has the published closed form (FHL 2005, eq. 10)."""
        params = (0.243, 4.414, 0.793, 2.426)
        value = clv_models.bgnbd_expected_purchases(params, 39.0, [0], [0.0], [38.86])[0]
        self.assertGreater(value, 0)
        self.assertLess(value, 0.5)
        # a customer with many recent purchases is expected to buy more
        busy = clv_models.bgnbd_expected_purchases(params, 39.0, [10], [38.0], [38.86])[0]
        self.assertGreater(busy, 3)


@tagged("post_install", "-at_install", "ecrm")
class TestClvInOdoo(EcrmCase, EcrmOrdersMixin):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._setup_ecrm_products()
        cls.env["sale.order"].search([("state", "=", "sale")]).write({"state": "cancel"})
        cls.config = cls.env["ecrm.config"]._get_for_company(cls.company)

    def test_thin_data_uses_simple_formula(self):
        ann = self.env["res.partner"].create({"name": "Ann"})
        self.make_order(ann, 100, days_ago=400)
        self.make_order(ann, 300, days_ago=40)
        self.recompute()
        self.assertEqual(self.config.clv_model, "simple")
        self.assertIn("Too little data", self.config.clv_model_note)
        score = self.score_of(ann)
        # AOV 200 x 2 orders / max(age 401 days / 365, 1) years x 3 years
        self.assertAlmostEqual(score.clv_simple, round(200 * 2 / (401 / 365) * 3, 2), places=2)
        self.assertEqual(score.clv_predicted, score.clv_simple)
        self.assertAlmostEqual(score.churn_risk, round(40 / 365, 4), places=4)
        self.assertEqual(score.clv_historic, 400.0)
        self.assertFalse(self.env["ecrm.partner.score"].fit()[0]["params"])

    def test_enough_data_uses_bgnbd(self):
        self.config.write({"fit_min_customers": 30, "fit_min_repeat": 10})
        partners = self.env["res.partner"].create([{"name": f"Buyer {i}"} for i in range(40)])
        for i, partner in enumerate(partners):
            for k in range(1 + i % 5):
                self.make_order(partner, 50 + 7 * i + 3 * k, days_ago=20 + 37 * k + 5 * i)
        self.recompute()
        self.assertEqual(self.config.clv_model, "bgnbd", self.config.clv_model_note)
        params = self.env["ecrm.partner.score"].fit()[0]["params"]
        self.assertTrue(all(params[k] > 0 for k in ("r", "alpha", "a", "b", "p", "q", "gamma")))
        self.assertLess(params["bgnbd_log_likelihood"], 0)
        self.assertTrue(self.config.fit_date)
        scores = self.env["ecrm.partner.score"].search([("partner_id", "in", partners.ids)])
        self.assertTrue(all(0 <= s.p_alive <= 1 and abs(s.churn_risk + s.p_alive - 1) < 1e-3 for s in scores))
        self.assertTrue(all(s.clv_predicted >= 0 for s in scores))
        one_timer = scores.filtered(lambda s: s.order_days == 1)[:1]
        self.assertEqual(
            one_timer.p_alive,
            1.0,
            "BG/NBD: a customer without repeat purchase has not dropped out",
        )
        fit_date = self.config.fit_date
        self.recompute()
        self.assertEqual(self.config.fit_date, fit_date, "unchanged data is not refitted")
