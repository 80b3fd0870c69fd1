// The html reporter on the hand-written report with chart data added: the page is loaded in
// headless Chromium when it is installed (else read as text) and its DOM checked for the verdict,
// every criterion, every chart's SVG with drawn paths, bar and whisker positions worked out by
// hand, the estimate mark, and the absence of anything that would leave the file (scripts,
// stylesheets, http(s) or protocol-relative URLs).
#define BOOST_TEST_MODULE reports_html
#include <boost/test/unit_test.hpp>
#include <cmath>
#include <regex>

#include "reports/report.h"
#include "reports/reporter.h"
#include "tests/test_util.h"

namespace gl = greenlight;
namespace t = greenlight::testing;

namespace {

gl::Report WithCharts() {
  gl::Report r = gl::FromStatement(nlohmann::json::parse(
      t::ReadText(t::SourceDir() / "tests" / "unit" / "reports" / "data" / "fixed_report.json")));
  // LAT-01: a latency histogram, 20 log-spaced buckets from 1 to 100 ms.
  nlohmann::json edges = nlohmann::json::array(), counts = nlohmann::json::array();
  for (int i = 0; i <= 20; ++i) edges.push_back(std::pow(10.0, i / 10.0));
  for (int i = 0; i < 20; ++i) counts.push_back(i < 12 ? 10 * (i + 1) : 5);
  r.results[1].details["run"] = {{"histogram", {{"edges", edges}, {"counts", counts}}}};
  // ECE-01: a reliability diagram.
  r.results[2].details["reliability_diagram"] = {
      {{"lower", 0.6}, {"upper", 0.8}, {"accuracy", 0.65}, {"count", 40}},
      {{"lower", 0.8}, {"upper", 1.0}, {"accuracy", 0.95}, {"count", 500}}};
  // FAIR-01: two groups' selection rates with intervals; "a" is the reference.
  r.results[3].details["groups"] = {
      {{"group", "a"},
       {"reference", true},
       {"selection_rate", {{"value", 0.5}, {"low", 0.45}, {"high", 0.55}}}},
      {{"group", "b"},
       {"reference", false},
       {"selection_rate", {{"value", 0.41}, {"low", 0.35}, {"high", 0.47}}}}};
  // NRG-01: an estimate, and a message that must stay text.
  r.results[4].method = "estimate:cpu-time";
  r.results[4].message = "<script>alert(1)</script> no meter";
  // An adversarial result (accuracy vs epsilon) and a corruption result (severity curves).
  gl::CriterionResult adv = r.results[0];
  adv.id = "SAF-01";
  adv.metric = "adversarial_accuracy";
  adv.value = 0.8;
  adv.params = {{"attack", "fgsm"}, {"norm", "inf"}, {"epsilon", 0.01}};
  adv.details = {{"clean_accuracy", 0.9}};
  r.results.push_back(adv);
  gl::CriterionResult cor = r.results[0];
  cor.id = "SAF-03";
  cor.metric = "corruption_accuracy";
  cor.value = 0.85;
  cor.details = {{"cells",
                  {{{"corruption", "gaussian_noise"}, {"severity", 1}, {"accuracy", 0.89}},
                   {{"corruption", "gaussian_noise"}, {"severity", 5}, {"accuracy", 0.8}},
                   {{"corruption", "contrast"}, {"severity", 1}, {"accuracy", 0.88}},
                   {{"corruption", "contrast"}, {"severity", 5}, {"accuracy", 0.7}}}}};
  r.results.push_back(cor);
  return r;
}

// The page as a browser sees it: Chromium's serialised DOM, or the file itself without Chromium.
std::string Dom(const std::filesystem::path& html) {
  const std::string chromium = GREENLIGHT_CHROMIUM_EXECUTABLE;
  if (chromium.empty() || chromium.find("NOTFOUND") != std::string::npos) {
    BOOST_TEST_MESSAGE("chromium not installed: checking the file's text");
    return t::ReadText(html);
  }
  const auto r = t::RunShell(t::Quote(chromium) +
                             " --headless --no-sandbox --disable-gpu --dump-dom 'file://" +
                             html.string() + "'");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  return r.out;
}

std::vector<std::string> Svgs(const std::string& dom) {
  std::vector<std::string> out;
  for (size_t at = dom.find("<svg"); at != std::string::npos; at = dom.find("<svg", at + 1)) {
    out.push_back(dom.substr(at, dom.find("</svg>", at) - at));
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_page_shows_every_criterion_with_charts_and_never_leaves_the_file) {
  t::TempDir tmp;
  const gl::Report report = WithCharts();
  t::WriteText(
      tmp / "report.html",
      gl::BuiltinReporters().Make("html", {.signature = "verified with key abc"})->Render(report));
  const std::string dom = Dom(tmp / "report.html");
  BOOST_TEST(dom.find("<h1 id=\"verdict\">Verdict: FAIL</h1>") != std::string::npos);
  for (const auto& r : report.results) {
    BOOST_TEST(dom.find("id=\"r-" + r.id + "\"") != std::string::npos, r.id);
  }
  BOOST_TEST(dom.find("verified with key abc") != std::string::npos);
  BOOST_TEST(dom.find("audited 600 of 10,000 rows: random 600 (seed 7)") != std::string::npos);
  // Five charts: latency histogram, reliability diagram, group rates, severity curves, epsilon.
  const auto svgs = Svgs(dom);
  BOOST_TEST(svgs.size() == 5u);
  const std::regex drawn("<path class=\"(bar|line[^\"]*)\" d=\"M[0-9.]+ [0-9.]+[LVH][^\"]+\"");
  for (const auto& svg : svgs) {
    BOOST_TEST(std::regex_search(svg, drawn), svg.substr(0, 200));
    BOOST_TEST(svg.find("<title") != std::string::npos);  // Its accessible name.
  }
  // Group bars: the plot spans y = 216 (rate 0) to y = 16 (rate 1), so rate 0.5 is at 116,
  // 0.41 at 134, and the whiskers of group a end at 126 (0.45) and 106 (0.55). The four-fifths
  // band runs from the reference rate (116) down to 0.8 x 0.5 = 0.4 (136).
  std::string groups;
  for (const auto& svg : svgs) {
    if (svg.find("Favourable-outcome rate by group") != std::string::npos) groups = svg;
  }
  BOOST_REQUIRE(!groups.empty());
  BOOST_TEST(groups.find("V116.0") != std::string::npos, groups);
  BOOST_TEST(groups.find("V134.0") != std::string::npos, groups);
  BOOST_TEST(groups.find(" 126.0V106.0") != std::string::npos, groups);
  BOOST_TEST(groups.find("M56.0 116.0H624.0V136.0H56.0Z") != std::string::npos, groups);
  // The estimate is marked as one; the message stayed text.
  const size_t nrg = dom.find("id=\"r-NRG-01\"");
  BOOST_TEST(dom.find("estimate, not a measurement", nrg) < dom.find("</article>", nrg));
  BOOST_TEST(dom.find("&lt;script&gt;alert(1)&lt;/script&gt; no meter") != std::string::npos);
  // Nothing is fetched: no scripts, stylesheets, frames, or remote or protocol-relative URLs.
  const std::regex remote("(src|href|action)\\s*=\\s*[\"']?\\s*(https?:)?//", std::regex::icase);
  BOOST_TEST(!std::regex_search(dom, remote));
  for (const std::string tag : {"<script", "<link", "<iframe", "<img", "@import", "url("}) {
    BOOST_TEST(dom.find(tag) == std::string::npos, tag);
  }
  BOOST_TEST(dom.find("@media print") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_report_without_chart_data_renders_without_charts) {
  gl::Report report = WithCharts();
  for (auto& r : report.results) r.details = nlohmann::json::object();
  report.results.pop_back();
  report.results.pop_back();
  const std::string html = gl::BuiltinReporters().Make("html", {})->Render(report);
  BOOST_TEST(html.find("<svg") == std::string::npos);
  BOOST_TEST(html.find("id=\"r-LAT-01\"") != std::string::npos);
}

// A compare audit: the reference model and the model side by side. Accuracy bars from the paired
// table (reference 90 of 100 correct, model 85), with Wilson 95 % whiskers worked out by hand
// (85/100: [0.7672, 0.9069]; 90/100: [0.8256, 0.9448]); latency bars for a speedup.
BOOST_AUTO_TEST_CASE(compare_results_show_reference_and_model_side_by_side) {
  gl::Report report = WithCharts();
  report.results.resize(1);
  gl::CriterionResult& delta = report.results[0];
  delta.id = "DELTA-01";
  delta.metric = "accuracy_delta";
  delta.interval = gl::Interval{-0.1, 0.0, 0.95, "newcombe"};
  delta.details = {{"rows", 100},
                   {"agreeing_rows", 90},
                   {"paired_table",
                    {{"both_correct", 80},
                     {"model_only_correct", 5},
                     {"reference_only_correct", 10},
                     {"both_wrong", 5}}},
                   {"model_accuracy", 0.85},
                   {"reference_accuracy", 0.9}};
  gl::CriterionResult speed = delta;
  speed.id = "SPEED-01";
  speed.metric = "latency_speedup";
  speed.params = {{"statistic", "p50"}};
  speed.details = {{"model_latency_ms", 0.2}, {"reference_latency_ms", 0.5}};
  report.results.push_back(speed);
  const std::string html = gl::BuiltinReporters().Make("html", {})->Render(report);
  const auto svgs = Svgs(html);
  BOOST_REQUIRE(svgs.size() == 2u);
  // x: the plot spans 56 to 624 for 0..2; bars at 0.25-0.75 and 1.25-1.75, whiskers at 0.5, 1.5.
  // y: 216 (0) to 16 (1).
  const std::string& acc = svgs[0];
  BOOST_TEST(acc.find("Reference model and model: accuracy") != std::string::npos, acc);
  BOOST_TEST(acc.find("M127.0 216.0V36.0H269.0V216.0Z") != std::string::npos, acc);  // 0.90
  BOOST_TEST(acc.find("M411.0 216.0V46.0H553.0V216.0Z") != std::string::npos, acc);  // 0.85
  BOOST_TEST(acc.find("M198.0 50.9V27.0") != std::string::npos, acc);  // [0.8256, 0.9448]
  BOOST_TEST(acc.find("M482.0 62.6V34.6") != std::string::npos, acc);  // [0.7672, 0.9069]
  // Latency: the axis tops at 1.1 x 0.5 ms, so 0.5 ms is at 216 - 200 / 1.1 = 34.2 and 0.2 ms at
  // 216 - 200 x 0.2 / 0.55 = 143.3.
  const std::string& lat = svgs[1];
  BOOST_TEST(lat.find("Reference model and model: p50 latency") != std::string::npos, lat);
  BOOST_TEST(lat.find("M127.0 216.0V34.2H269.0V216.0Z") != std::string::npos, lat);
  BOOST_TEST(lat.find("M411.0 216.0V143.3H553.0V216.0Z") != std::string::npos, lat);
  BOOST_TEST(lat.find("whisker") == std::string::npos, lat);
}

// The README's picture: the demo audit's page (a real report of criteria/demo.yaml) as headless
// Chromium draws it, written to <build>/docs/report-html.png; docs/images/report-html.png is a
// copy. The PNG must be a 1000 x 1300 image (IHDR, big-endian) with content: a blank page of that
// size compresses to a few kilobytes.
BOOST_AUTO_TEST_CASE(the_demo_page_screenshot_for_the_readme) {
  const std::string chromium = GREENLIGHT_CHROMIUM_EXECUTABLE;
  if (chromium.empty() || chromium.find("NOTFOUND") != std::string::npos) {
    BOOST_TEST_MESSAGE("chromium not installed: no screenshot");
    return;
  }
  const gl::Report report = gl::FromStatement(nlohmann::json::parse(
      t::ReadText(t::SourceDir() / "tests" / "unit" / "reports" / "data" / "demo_report.json")));
  t::TempDir tmp;
  t::WriteText(tmp / "report.html", gl::BuiltinReporters().Make("html", {})->Render(report));
  const std::filesystem::path png = std::filesystem::path(GREENLIGHT_DOCS_OUT) / "report-html.png";
  std::filesystem::create_directories(png.parent_path());
  std::filesystem::remove(png);
  const auto r = t::RunShell(t::Quote(chromium) +
                             " --headless --no-sandbox --disable-gpu --hide-scrollbars"
                             " --window-size=1000,1300 --screenshot=" +
                             t::Quote(png) + " 'file://" + (tmp / "report.html").string() + "'");
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const std::string bytes = t::ReadText(png);
  BOOST_REQUIRE(bytes.size() > 24);
  BOOST_TEST(bytes.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
    return v;
  };
  BOOST_TEST(bytes.substr(12, 4) == "IHDR");
  BOOST_TEST(be32(16) == 1000u);
  BOOST_TEST(be32(20) == 1300u);
  BOOST_TEST(bytes.size() > 50000u, bytes.size());
}

// A reliability bin whose count no int can hold (a hand-edited report): the chart compares it as a
// number, never converts it (a conversion was undefined behaviour, found by fuzz_show_json).
BOOST_AUTO_TEST_CASE(a_bin_count_beyond_any_integer_is_compared_not_converted) {
  gl::Report report = WithCharts();
  report.results[2].details["reliability_diagram"] = {
      {{"lower", 0.6}, {"upper", 0.8}, {"accuracy", 0.65}, {"count", 1.00889e22}},
      {{"lower", 0.8}, {"upper", 1.0}, {"accuracy", 0.95}, {"count", -1e300}}};
  const std::string html = gl::BuiltinReporters().Make("html", {})->Render(report);
  // The first bin is drawn (accuracy 0.65: y = 216 - 200 x 0.65 = 86), the second (a negative
  // count) is not (0.95 would be y 26).
  std::string chart;
  for (const auto& svg : Svgs(html)) {
    if (svg.find("Reliability diagram") != std::string::npos) chart = svg;
  }
  BOOST_REQUIRE(!chart.empty());
  BOOST_TEST(chart.find("V86.0") != std::string::npos, chart);
  BOOST_TEST(chart.find("V26.0") == std::string::npos, chart);
}
