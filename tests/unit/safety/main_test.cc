#define BOOST_TEST_MODULE safety
#include <boost/test/unit_test.hpp>
