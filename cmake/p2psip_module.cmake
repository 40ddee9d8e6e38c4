# SPDX-License-Identifier: Apache-2.0
# p2psip_add_module(NAME <name> [DEPS <module>...] [LIBS <target>...] [TEST_LIBS <target>...])
#
# Creates the library target p2psip_<name> (alias p2psip::<name>) from modules/<name>/src/*.cpp.
# include/ is PUBLIC, src/ is PRIVATE. Only modules listed in DEPS are linked, so only their
# include/ directories are visible: an #include of an undeclared module fails to compile.
# tests/*_test.cpp become the GoogleTest executable p2psip_<name>_tests, registered with CTest.
function(p2psip_add_module)
  cmake_parse_arguments(M "" "NAME" "DEPS;LIBS;TEST_LIBS" ${ARGN})
  set(target p2psip_${M_NAME})
  file(GLOB srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp)
  if(srcs)
    add_library(${target} STATIC ${srcs})
    target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
                                         PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    set(scope PUBLIC)
  else()
    add_library(${target} INTERFACE)
    target_include_directories(${target} INTERFACE ${CMAKE_CURRENT_SOURCE_DIR}/include)
    set(scope INTERFACE)
  endif()
  add_library(p2psip::${M_NAME} ALIAS ${target})
  foreach(dep IN LISTS M_DEPS)
    target_link_libraries(${target} ${scope} p2psip_${dep})
  endforeach()
  if(M_LIBS)
    target_link_libraries(${target} ${scope} ${M_LIBS})
  endif()
  set_property(GLOBAL APPEND PROPERTY P2PSIP_MODULE_EDGES "${M_NAME}:${M_DEPS}")

  file(GLOB tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/tests/*_test.cpp)
  if(P2PSIP_TESTS AND tests)
    add_executable(${target}_tests ${tests})
    target_include_directories(${target}_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
    target_link_libraries(${target}_tests PRIVATE ${target} ${M_TEST_LIBS} GTest::gtest GTest::gtest_main
                                                  GTest::gmock)
    target_compile_definitions(${target}_tests PRIVATE
      P2PSIP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      P2PSIP_MODULE_TEST_DATA="${CMAKE_CURRENT_SOURCE_DIR}/tests/data")
    gtest_discover_tests(${target}_tests DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
