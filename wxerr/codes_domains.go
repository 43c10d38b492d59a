package wxerr

// Codes of domains, testers, component utilities and mini program codes
// (issue 9, part A). Texts from the global return-code page where it has
// them; the others paraphrase the per-endpoint pages.
const (
	InvalidScene              Code = 40129
	InvalidCodePath           Code = 40159
	InvalidSceneLength        Code = 40169
	ArgsCountExceeded         Code = 40170
	AppIDMissing              Code = 41002
	InvalidCodePage           Code = 41030
	QRCodeCountExceeded       Code = 45029
	NeedICPLicense            Code = 45082
	DomainQuotaReached        Code = 45104
	ClearQuotaForbidden       Code = 48006
	InvalidCgiPath            Code = 76003
	CgiPathNotFound           Code = 76021
	CgiPathNoPermission       Code = 76022
	TesterNotExist            Code = 85001
	TesterQuotaReached        Code = 85002
	TesterTooManyWeapps       Code = 85003
	TesterAlreadyBound        Code = 85004
	DomainCountExceeded       Code = 85016
	NoDomainToModify          Code = 85017
	DomainNotOnPlatform       Code = 85018
	DomainRuleBroken          Code = 85301
	WebviewDomainNotChanged   Code = 89019
	PlatformWebviewDomainNull Code = 89020
	WebviewDomainNotPlatforms Code = 89021
	WebviewDomainExceedLimit  Code = 89029
	DomainSchemeInvalid       Code = 86100
	DomainForbidden           Code = 86101
	DomainModifyMonthlyLimit  Code = 86102
)

func init() {
	for c, t := range map[Code]string{
		InvalidScene:              "invalid scene",
		InvalidCodePath:           "invalid length for path, or the data is not json string",
		InvalidSceneLength:        "invalid length for scene, or the data is not json string",
		ArgsCountExceeded:         "args count exceed count limit",
		AppIDMissing:              "appid missing",
		InvalidCodePage:           "invalid page",
		QRCodeCountExceeded:       "qrcode count out of limit",
		NeedICPLicense:            "need icp license for the url domain",
		DomainQuotaReached:        "reach max domain quota limit",
		ClearQuotaForbidden:       "forbid to clear quota because of reaching the limit",
		InvalidCgiPath:            "invalid cgi_path format",
		CgiPathNotFound:           "cgi_path not found, please check",
		CgiPathNoPermission:       "could not use this cgi_path,no permission",
		TesterNotExist:            "user not exist or user cannot be searched",
		TesterQuotaReached:        "number of tester reach bind limit",
		TesterTooManyWeapps:       "user already bind too many weapps",
		TesterAlreadyBound:        "user already bind",
		DomainCountExceeded:       "exceed valid domain count",
		NoDomainToModify:          "no domain to modify after filtered, please confirm the domain has been set in miniprogram or open",
		DomainNotOnPlatform:       "domain not set in open",
		DomainRuleBroken:          "no domain to modify after filtered, and follows the rule of domains",
		WebviewDomainNotChanged:   "webview domain not change",
		PlatformWebviewDomainNull: "open's webview domain is null! Need to set open's webview domain first!",
		WebviewDomainNotPlatforms: "request domain is not open's webview domain!",
		WebviewDomainExceedLimit:  "webview domain exceed limit",
		DomainSchemeInvalid:       "invalid url scheme for the domain",
		DomainForbidden:           "api.weixin.qq.com is not allowed",
		DomainModifyMonthlyLimit:  "domain modification reach monthly limit",
	} {
		texts[c] = t
	}
}
