// The shard arithmetic of sharded audits (engine/shard.h), checked against ranges worked out by
// hand, and --shard / --shard auto parsing from a scheduler's environment.
#define BOOST_TEST_MODULE shard
#include "engine/shard.h"

#include <boost/test/unit_test.hpp>
#include <map>
#include <string>

#include "core/error.h"

namespace gl = greenlight;

namespace {

void CheckRange(int64_t rows, gl::ShardSpec shard, int64_t block, int64_t begin, int64_t end) {
  const gl::RowRange r = gl::ShardRows(rows, shard, block);
  BOOST_TEST_CONTEXT(rows << " rows, shard " << gl::ShardName(shard) << ", block " << block) {
    BOOST_TEST(r.begin == begin);
    BOOST_TEST(r.end == end);
  }
}

// The message of the InputError `f` throws ("" when it does not throw).
template <typename F>
std::string InputErrorOf(F f) {
  try {
    f();
  } catch (const gl::InputError& e) {
    return e.what();
  }
  return "";
}

gl::ShardSpec FromEnv(const std::map<std::string, std::string>& env,
                      std::optional<int64_t> count = std::nullopt) {
  return gl::ShardFromEnvironment(
      [&](const char* name) -> const char* {
        const auto it = env.find(name);
        return it == env.end() ? nullptr : it->second.c_str();
      },
      count);
}

}  // namespace

BOOST_AUTO_TEST_CASE(uneven_rows_go_to_the_first_shards) {
  // 10 rows in 3: 10 = 4 + 3 + 3.
  CheckRange(10, {0, 3}, 1, 0, 4);
  CheckRange(10, {1, 3}, 1, 4, 7);
  CheckRange(10, {2, 3}, 1, 7, 10);
  // 9 rows in 3: even.
  CheckRange(9, {1, 3}, 1, 3, 6);
  // One shard: everything.
  CheckRange(10, {0, 1}, 1, 0, 10);
}

BOOST_AUTO_TEST_CASE(more_shards_than_rows_leave_the_last_ones_empty) {
  // 2 rows in 5: shards 0 and 1 get a row each, 2..4 are empty (at the end, not in between).
  CheckRange(2, {0, 5}, 1, 0, 1);
  CheckRange(2, {1, 5}, 1, 1, 2);
  CheckRange(2, {2, 5}, 1, 2, 2);
  CheckRange(2, {4, 5}, 1, 2, 2);
  CheckRange(0, {0, 3}, 1, 0, 0);
}

BOOST_AUTO_TEST_CASE(blocks_keep_batches_whole) {
  // 2000 rows in blocks of 256: 8 blocks (7 whole, the last of 208 rows); in 3 shards 3 + 3 + 2
  // blocks: [0, 768), [768, 1536), [1536, 2000).
  CheckRange(2000, {0, 3}, 256, 0, 768);
  CheckRange(2000, {1, 3}, 256, 768, 1536);
  CheckRange(2000, {2, 3}, 256, 1536, 2000);
  // 600 rows: 3 blocks (256, 256, 88) in 5 shards: the last two are empty.
  CheckRange(600, {0, 5}, 256, 0, 256);
  CheckRange(600, {2, 5}, 256, 512, 600);
  CheckRange(600, {3, 5}, 256, 600, 600);
  // 256 rows exactly: one block.
  CheckRange(256, {0, 2}, 256, 0, 256);
  CheckRange(256, {1, 2}, 256, 256, 256);
}

BOOST_AUTO_TEST_CASE(shards_tile_the_rows_exactly) {
  // Every row in exactly one shard, in order, for many sizes (a property; the ranges above are
  // the hand-checked cases).
  for (int64_t block : {1, 7, 256}) {
    for (int64_t rows = 0; rows < 600; rows += 37) {
      for (int64_t n = 1; n <= 9; ++n) {
        int64_t next = 0;
        for (int64_t i = 0; i < n; ++i) {
          const gl::RowRange r = gl::ShardRows(rows, {i, n}, block);
          BOOST_TEST(r.begin == next);
          BOOST_TEST(r.end >= r.begin);
          BOOST_TEST((r.begin % block == 0 || r.begin == rows));
          next = r.end;
        }
        BOOST_TEST(next == rows);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(parses_i_of_n) {
  BOOST_TEST((gl::ParseShard("0/1") == gl::ShardSpec{0, 1}));
  BOOST_TEST((gl::ParseShard("2/3") == gl::ShardSpec{2, 3}));
  BOOST_TEST(InputErrorOf([] { gl::ParseShard("3/3"); }) ==
             "--shard '3/3': the shard index must be 0..2");
  BOOST_TEST(InputErrorOf([] { gl::ParseShard("1/0"); }) ==
             "--shard '1/0': the shard count must be 1..1000000");
  for (const char* bad : {"", "1", "-1/3", "1/3/4", " 1/3", "a/b", "1/+3"}) {
    BOOST_TEST(InputErrorOf([&] { gl::ParseShard(bad); }).find("expected I/N") != std::string::npos,
               bad);
  }
}

BOOST_AUTO_TEST_CASE(slurm_arrays_from_zero_and_from_one) {
  BOOST_TEST((FromEnv({{"SLURM_ARRAY_TASK_ID", "2"},
                       {"SLURM_ARRAY_TASK_COUNT", "3"},
                       {"SLURM_ARRAY_TASK_MIN", "0"},
                       {"SLURM_ARRAY_TASK_MAX", "2"}}) == gl::ShardSpec{2, 3}));
  BOOST_TEST((FromEnv({{"SLURM_ARRAY_TASK_ID", "1"},
                       {"SLURM_ARRAY_TASK_COUNT", "3"},
                       {"SLURM_ARRAY_TASK_MIN", "1"},
                       {"SLURM_ARRAY_TASK_MAX", "3"}}) == gl::ShardSpec{0, 3}));
  BOOST_TEST((FromEnv({{"SLURM_ARRAY_TASK_ID", "3"},
                       {"SLURM_ARRAY_TASK_COUNT", "3"},
                       {"SLURM_ARRAY_TASK_MIN", "1"}},
                      3) == gl::ShardSpec{2, 3}));
}

BOOST_AUTO_TEST_CASE(slurm_inconsistencies_are_bad_input) {
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"SLURM_ARRAY_TASK_ID", "1"}, {"SLURM_ARRAY_TASK_MIN", "0"}});
             }) ==
             "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not "
             "(an array job of Slurm 17.11 or later sets both)");
  // --array=0-8:4 runs tasks 0, 4, 8: not one shard per index.
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"SLURM_ARRAY_TASK_ID", "4"},
                        {"SLURM_ARRAY_TASK_COUNT", "3"},
                        {"SLURM_ARRAY_TASK_MIN", "0"},
                        {"SLURM_ARRAY_TASK_MAX", "8"}});
             }).find("the array 0-8 has 3 tasks") != std::string::npos);
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"SLURM_ARRAY_TASK_ID", "1"},
                        {"SLURM_ARRAY_TASK_COUNT", "3"},
                        {"SLURM_ARRAY_TASK_MIN", "0"}},
                       4);
             }) == "--shard auto: --shard-count 4 disagrees with SLURM_ARRAY_TASK_COUNT=3");
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"SLURM_ARRAY_TASK_ID", "x"},
                        {"SLURM_ARRAY_TASK_COUNT", "3"},
                        {"SLURM_ARRAY_TASK_MIN", "0"}});
             }) == "--shard auto: SLURM_ARRAY_TASK_ID='x' is not a non-negative integer");
}

BOOST_AUTO_TEST_CASE(kubernetes_indexed_jobs_need_the_count) {
  BOOST_TEST((FromEnv({{"JOB_COMPLETION_INDEX", "0"}}, 3) == gl::ShardSpec{0, 3}));
  BOOST_TEST((FromEnv({{"JOB_COMPLETION_INDEX", "2"}}, 3) == gl::ShardSpec{2, 3}));
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"JOB_COMPLETION_INDEX", "0"}});
             }) ==
             "--shard auto: JOB_COMPLETION_INDEX is set; give the Job's completions as "
             "--shard-count N");
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"JOB_COMPLETION_INDEX", "3"}}, 3);
             }) == "--shard auto: JOB_COMPLETION_INDEX=3 is outside 0..2 (--shard-count 3)");
  BOOST_TEST(InputErrorOf([] { FromEnv({}); }).find("neither SLURM_ARRAY_TASK_ID") !=
             std::string::npos);
  BOOST_TEST(InputErrorOf([] {
               FromEnv({{"JOB_COMPLETION_INDEX", "0"}, {"SLURM_ARRAY_TASK_ID", "0"}}, 3);
             }).find("both SLURM_ARRAY_TASK_ID and JOB_COMPLETION_INDEX") != std::string::npos);
}
