package rollout

// FetchRefreshTokensPaged is FetchRefreshTokens with the page size given,
// so that a small fleet spans several pages.
var FetchRefreshTokensPaged = fetchRefreshTokens
