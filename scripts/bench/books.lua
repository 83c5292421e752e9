-- wrk script of scripts/bench/service.sh: GET /books/{id}, id uniform in 1..10000.
math.randomseed(os.time())
request = function()
  return wrk.format("GET", "/books/" .. math.random(1, 10000))
end
